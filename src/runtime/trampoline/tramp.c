/* The exec trampoline: a tiny static program, no libc, that the container's
 * process runs for an instant between the runtime and the user's program.
 *
 *   argv = [PATH, ARG0, ARG1, ...]  ->  execve(PATH, [ARG0, ARG1, ...], envp)
 *
 * The runtime executes it from a sealed memfd, so while the kernel resolves
 * the user's program (and a "#!/proc/self/exe" shebang in it), /proc/self/exe
 * is that sealed copy and never the runtime binary on the host: the
 * CVE-2019-5736 attack has nothing writable to reach. Built by the Makefile
 * with -nostdlib and embedded into husk-runtime (blob.S). */
#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall tramp_main\n\thlt\n");
#define NR_EXECVE 59
#define NR_WRITE  1
#define NR_EXIT   60
static long sys3(long n, long a, long b, long c)
{
        long r;
        __asm__ volatile("syscall"
                         : "=a"(r)
                         : "a"(n), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
        return r;
}
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n\tmov x0, sp\n\tbl tramp_main\n");
#define NR_EXECVE 221
#define NR_WRITE  64
#define NR_EXIT   93
static long sys3(long n, long a, long b, long c)
{
        register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b,
                         x2 __asm__("x2") = c;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        return x0;
}
#else
#error "the exec trampoline supports x86_64 and aarch64"
#endif

static unsigned long len(const char *s)
{
        unsigned long n = 0;
        while (s[n])
                n++;
        return n;
}

__attribute__((used, noreturn)) void tramp_main(long *sp)
{
        long argc = sp[0];
        char **argv = (char **)(sp + 1);
        char **envp = argv + argc + 1;
        long r = -22;
        if (argc >= 2)
                r = sys3(NR_EXECVE, (long)argv[0], (long)(argv + 1), (long)envp);
        /* "husk-runtime: exec PATH: errno N" */
        char num[24];
        int i = sizeof(num);
        unsigned long e = (unsigned long)-r;
        do
                num[--i] = (char)('0' + e % 10);
        while ((e /= 10) && i > 0);
        static const char a[] = "husk-runtime: exec '", b[] = "' failed: errno ";
        sys3(NR_WRITE, 2, (long)a, sizeof(a) - 1);
        if (argc >= 1)
                sys3(NR_WRITE, 2, (long)argv[0], (long)len(argv[0]));
        sys3(NR_WRITE, 2, (long)b, sizeof(b) - 1);
        sys3(NR_WRITE, 2, (long)(num + i), (long)(sizeof(num) - i));
        sys3(NR_WRITE, 2, (long)"\n", 1);
        for (;;)
                sys3(NR_EXIT, 127, 0, 0);
}
