#include <stdio.h>
int runtime_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "husk-runtime: no commands yet\n");
        return 1;
}
