# The exec trampoline (src/executors/trampoline.rs), x86-64. Its bytes are in
# trampoline.rs; `cargo test` checks them against this file when `as` is installed:
#   as -o t.o trampoline_x86_64.s && objcopy -O binary --only-section=.text t.o t.bin
#
# argv: [report fd, label fd or "", label, path, the program's argv...]; envp passed on.
# 1. the report fd becomes close-on-exec (it stays open until the final execve succeeds);
# 2. with a label fd: the label is written to it (an LSM's attr/exec file), then closed;
# 3. execve(path, argv + 4, envp).
# On a failure it writes two bytes to the report fd, the step (1 fcntl, 2 label,
# 0 execve) and the errno, and exits 127. Malformed arguments: exit 127, nothing written.
    .intel_syntax noprefix
    .globl _start
_start:
    mov    rbx, rsp                 # rbx: &argc, then argv[], NULL, envp[]
    xor    r12d, r12d
    dec    r12d                     # r12: report fd, -1 until parsed
    cmp    qword ptr [rbx], 5
    jb     give_up
    mov    rsi, [rbx+8]
    call   parse_fd
    test   eax, eax
    js     give_up
    mov    r12d, eax
    mov    r15d, 1                  # r15: the step being reported
    mov    edi, r12d
    mov    esi, 2                   # F_SETFD
    mov    edx, 1                   # FD_CLOEXEC
    mov    eax, 72                  # fcntl
    syscall
    test   rax, rax
    jnz    report
    mov    rsi, [rbx+16]
    call   parse_fd
    test   eax, eax
    js     exec_program             # no label
    mov    r13d, eax
    mov    r15d, 2
    mov    rsi, [rbx+24]
    xor    edx, edx
strlen:
    cmp    byte ptr [rsi+rdx], 0
    je     strlen_done
    inc    rdx
    jmp    strlen
strlen_done:
    mov    r14, rdx
    mov    edi, r13d
    mov    eax, 1                   # write
    syscall
    cmp    rax, r14
    je     label_written
    test   rax, rax
    js     report
    mov    rax, -5                  # a short write: EIO
    jmp    report
label_written:
    mov    edi, r13d
    mov    eax, 3                   # close
    syscall
exec_program:
    xor    r15d, r15d
    mov    rdi, [rbx+32]
    lea    rsi, [rbx+40]
    mov    rcx, [rbx]
    lea    rdx, [rbx+rcx*8+16]      # envp: after argv's NULL
    mov    eax, 59                  # execve
    syscall
report:                             # rax: -errno
    neg    eax
    mov    byte ptr [rsp-1], al     # the red zone: no calls follow
    mov    byte ptr [rsp-2], r15b
    mov    edi, r12d
    lea    rsi, [rsp-2]
    mov    edx, 2
    mov    eax, 1                   # write
    syscall
give_up:
    mov    edi, 127
    mov    eax, 231                 # exit_group
    syscall

# rsi: a NUL-terminated decimal number; eax: its value, or -1 if empty, not digits or
# above 65535.
parse_fd:
    xor    eax, eax
    cmp    byte ptr [rsi], 0
    je     parse_bad
parse_next:
    movzx  ecx, byte ptr [rsi]
    test   ecx, ecx
    jz     parse_done
    sub    ecx, 48
    cmp    ecx, 9
    ja     parse_bad
    imul   eax, eax, 10
    add    eax, ecx
    cmp    eax, 65535
    ja     parse_bad
    inc    rsi
    jmp    parse_next
parse_done:
    ret
parse_bad:
    mov    eax, -1
    ret
