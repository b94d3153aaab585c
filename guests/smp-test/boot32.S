/*
 * Multiboot v1 entry: the loader leaves us in 32-bit protected mode with
 * paging off (EAX = magic, EBX = multiboot info). We switch to long mode on
 * static identity page tables and call kmain(magic, mbi).
 *
 * The APs arrive here too (ap_entry32) from the real-mode trampoline and take
 * the same path into long mode, with the same CR3 and GDT.
 */
#include "defs.h"

#define MB_HEADER_MAGIC 0x1BADB002
/* Bit 16: the header carries the load addresses (the "a.out kludge"), so a
 * loader that does not parse ELF can load us too. The addresses describe the
 * same layout as the ELF program header. */
#define MB_HEADER_FLAGS 0x00010000

#define CR0_PE (1 << 0)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

#define PTE_P 0x01
#define PTE_W 0x02
#define PTE_PWT 0x08
#define PTE_PCD 0x10
#define PTE_PS 0x80

    .section .multiboot, "a"
    .balign 4
mb_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
    .long mb_header         /* header_addr */
    .long __image_start     /* load_addr */
    .long __load_end        /* load_end_addr: end of the file-backed part */
    .long __image_end       /* bss_end_addr: the loader zeroes up to here */
    .long _start            /* entry_addr */

/*
 * Identity map of the first 4 GiB with 2 MiB pages, built at assembly time so
 * that no ring-0 loop is needed (ring 0 is emulated, hence slow, under dvmm).
 * The top GiB holds the IOAPIC (0xFEC00000) and LAPIC (0xFEE00000): uncached.
 */
    .section .data.pagetables, "aw"
    .balign 4096
    .globl boot_pml4
boot_pml4:
    .quad boot_pdpt + (PTE_P | PTE_W)
    .fill 511, 8, 0
boot_pdpt:
    .quad boot_pd + 0x0000 + (PTE_P | PTE_W)
    .quad boot_pd + 0x1000 + (PTE_P | PTE_W)
    .quad boot_pd + 0x2000 + (PTE_P | PTE_W)
    .quad boot_pd + 0x3000 + (PTE_P | PTE_W)
    .fill 508, 8, 0
boot_pd:
    .set pd_addr, 0
    .rept 512 * 3
    .quad pd_addr + (PTE_P | PTE_W | PTE_PS)
    .set pd_addr, pd_addr + 0x200000
    .endr
    .rept 512
    .quad pd_addr + (PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT)
    .set pd_addr, pd_addr + 0x200000
    .endr

/*
 * GDT shared by every CPU. Accessed bits are preset so that loading a
 * selector never writes to the table.
 */
    .section .data, "aw"
    .balign 16
    .globl gdt64
gdt64:
    .quad 0
    .quad 0x00AF9B000000FFFF    /* KERNEL_CS: 64-bit code */
    .quad 0x00CF93000000FFFF    /* KERNEL_DS: flat 4 GiB data */
    .quad 0x00CF9B000000FFFF    /* BOOT32_CS: flat 32-bit code (APs) */
gdt64_ptr:
    .word GDT_LIMIT
    .quad gdt64

/* Enables PAE paging on boot_pml4 and long mode, then jumps to 64-bit code.
 * Uses no stack (APs have none yet); clobbers eax, ecx, edx. */
.macro ENTER_LONG_MODE target
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    /* INIT leaves CD/NW set on the APs: turn caching back on. */
    andl $~(CR0_CD | CR0_NW), %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $KERNEL_CS, $\target
.endm

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    movl %eax, %ebp             /* multiboot magic; EBX (MBI) is preserved */
    /* Zero .bss ourselves rather than trusting every loader to. */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    lgdt gdt64_ptr
    movw $KERNEL_DS, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    ENTER_LONG_MODE bsp_entry64

/* APs: the trampoline loaded gdt64 and jumped here through BOOT32_CS. */
    .globl ap_entry32
ap_entry32:
    movw $KERNEL_DS, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    ENTER_LONG_MODE ap_entry64

    .code64
bsp_entry64:
    /* The BSP is CPU 0 and uses stack slot 0. */
    leaq cpu_stacks + STACK_SIZE(%rip), %rsp
    movl %ebp, %edi             /* kmain(magic, mbi) */
    movl %ebx, %esi
    xorl %ebp, %ebp
    call kmain
    jmp halt_forever

ap_entry64:
    /* The BSP starts one AP at a time and publishes its index in
     * ap_boot_cpu before the INIT-SIPI-SIPI sequence. */
    movl ap_boot_cpu(%rip), %edi
    leal 1(%rdi), %eax
    shlq $STACK_SHIFT, %rax
    leaq cpu_stacks(%rip), %rsp
    addq %rax, %rsp
    xorl %ebp, %ebp
    call ap_main
    .globl halt_forever
halt_forever:
    cli
    hlt
    jmp halt_forever

/* One STACK_SIZE slot per CPU; not part of the file image. */
    .section .stacks, "aw", @nobits
    .balign STACK_SIZE
    .globl cpu_stacks
cpu_stacks:
    .skip MAX_CPUS * STACK_SIZE

    .section .note.GNU-stack, "", @progbits
