/* The trampoline's ELF image, embedded read-only in husk-runtime. */
        .section .rodata
        .balign 16
        .globl husk_tramp_start
        .globl husk_tramp_end
husk_tramp_start:
        .incbin "tramp"
husk_tramp_end:
        .section .note.GNU-stack,"",%progbits
