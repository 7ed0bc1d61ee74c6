/* The smallest `true`: exit_group(0) from the entry point, no libc, no stack use, no data.
 * The memory floor's second payload (bench part 5 on this host, the VMs' floor step): busybox's
 * exec alone is charged ~100K+ by the kernel (page tables, its data, bss and stack pages), which
 * hides what the runtime itself leaves charged to the container; this one maps one text page.
 *
 * Built per arch by qemu/vm.py's static_true() (for the VMs, and for bench.py on this host):
 *   CC -nostdlib -static -Os -s -fno-asynchronous-unwind-tables -Wl,--build-id=none -Wl,-z,noseparate-code
 * one PT_LOAD (headers and 11 bytes of code), 512 bytes on x86_64. */
void _start(void) {
#if defined(__x86_64__)
    __asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
    __asm__ volatile("mov x0, #0\n\tmov x8, #94\n\tsvc #0");
#elif defined(__riscv)
    __asm__ volatile("li a0, 0\n\tli a7, 94\n\tecall");
#else
#error "static_true.c: no exit_group for this arch"
#endif
    for (;;)
        ;
}
