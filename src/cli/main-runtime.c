/* husk-runtime: a runc-compatible OCI runtime. */
int runtime_main(int argc, char **argv);

int main(int argc, char **argv)
{
        return runtime_main(argc, argv);
}
