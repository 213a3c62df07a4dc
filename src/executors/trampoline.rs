//! The exec trampoline: a 266-byte program of our own, on a sealed memfd, through which
//! the container's init execs the container's program.
//!
//! CVE-2019-5736 (see `sealed_binary`) needs one guarantee: no process of the container
//! ever has the host's ocirun binary as its executable once the container's code can
//! reach it. The init is a clone of the runtime, so until its last execve its
//! `/proc/self/exe` is the host's binary, and that execve resolves `/proc/self/exe` (an
//! entrypoint, a `#!` line, a binfmt_misc interpreter) while it still is. Exec'ing this
//! program first changes the executable to a sealed in-memory file that holds nothing
//! but the code below; its own execve then starts the container's program. Until then
//! the init is non-dumpable, so no process of the container can open its
//! `/proc/<pid>/exe` without CAP_SYS_PTRACE in the initial user namespace (with which it
//! could take over the init anyway); `sealed_binary::trampoline_unsuitable` lists what
//! sends a container the re-exec way instead.
//!
//! A runtime that re-executes itself from a read-only view pays an exec of its whole
//! binary and the C library's start-up; this exec maps one page and runs a few
//! instructions (docs/benchmarks.md).
//!
//! Its arguments are `[report fd, label fd or "", label, path, argv...]` and the
//! environment is passed on. It marks the report descriptor close-on-exec, writes the
//! LSM label for the program (when there is one) to the attr file `label fd` names,
//! then execs `path`. A failure is reported as two bytes on the report descriptor: the
//! step ([`Step`]) and the errno. The source is `trampoline_x86_64.s` beside this file.

use crate::error::{Context, Result};
use nix::errno::Errno;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The machine code of `trampoline_x86_64.s` (its `.text`, placed at [`CODE_OFFSET`]).
#[cfg(target_arch = "x86_64")]
const CODE: [u8; 266] = [
    0x48, 0x89, 0xe3, 0x45, 0x31, 0xe4, 0x41, 0xff, 0xcc, 0x48, 0x83, 0x3b, 0x05, 0x0f, 0x82, 0xbd,
    0x00, 0x00, 0x00, 0x48, 0x8b, 0x73, 0x08, 0xe8, 0xc0, 0x00, 0x00, 0x00, 0x85, 0xc0, 0x0f, 0x88,
    0xac, 0x00, 0x00, 0x00, 0x41, 0x89, 0xc4, 0x41, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x44, 0x89, 0xe7,
    0xbe, 0x02, 0x00, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x48, 0x00, 0x00, 0x00, 0x0f,
    0x05, 0x48, 0x85, 0xc0, 0x75, 0x6b, 0x48, 0x8b, 0x73, 0x10, 0xe8, 0x8d, 0x00, 0x00, 0x00, 0x85,
    0xc0, 0x78, 0x44, 0x41, 0x89, 0xc5, 0x41, 0xbf, 0x02, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x73, 0x18,
    0x31, 0xd2, 0x80, 0x3c, 0x16, 0x00, 0x74, 0x05, 0x48, 0xff, 0xc2, 0xeb, 0xf5, 0x49, 0x89, 0xd6,
    0x44, 0x89, 0xef, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x4c, 0x39, 0xf0, 0x74, 0x0e, 0x48,
    0x85, 0xc0, 0x78, 0x2d, 0x48, 0xc7, 0xc0, 0xfb, 0xff, 0xff, 0xff, 0xeb, 0x24, 0x44, 0x89, 0xef,
    0xb8, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x45, 0x31, 0xff, 0x48, 0x8b, 0x7b, 0x20, 0x48, 0x8d,
    0x73, 0x28, 0x48, 0x8b, 0x0b, 0x48, 0x8d, 0x54, 0xcb, 0x10, 0xb8, 0x3b, 0x00, 0x00, 0x00, 0x0f,
    0x05, 0xf7, 0xd8, 0x88, 0x44, 0x24, 0xff, 0x44, 0x88, 0x7c, 0x24, 0xfe, 0x44, 0x89, 0xe7, 0x48,
    0x8d, 0x74, 0x24, 0xfe, 0xba, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05,
    0xbf, 0x7f, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x31, 0xc0, 0x80, 0x3e,
    0x00, 0x74, 0x21, 0x0f, 0xb6, 0x0e, 0x85, 0xc9, 0x74, 0x19, 0x83, 0xe9, 0x30, 0x83, 0xf9, 0x09,
    0x77, 0x12, 0x6b, 0xc0, 0x0a, 0x01, 0xc8, 0x3d, 0xff, 0xff, 0x00, 0x00, 0x77, 0x06, 0x48, 0xff,
    0xc6, 0xeb, 0xe0, 0xc3, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xc3,
];

/// Where the image is mapped: above any `vm.mmap_min_addr`.
const BASE_ADDRESS: u64 = 0x40_0000;
const ELF_HEADER_SIZE: usize = 64;
const PROGRAM_HEADER_SIZE: usize = 56;
/// An ELF header, a loadable segment and a non-executable stack, then the code.
const CODE_OFFSET: usize = ELF_HEADER_SIZE + 2 * PROGRAM_HEADER_SIZE;

/// What the trampoline was doing when it failed (the first byte of its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Exec = 0,
    CloseOnExec = 1,
    Label = 2,
}

/// The trampoline's failure report, if `report` is one (any other text is the init's).
pub fn parse_report(report: &[u8]) -> Option<(Step, Errno)> {
    let [step, errno] = report else {
        return None;
    };
    let step = match step {
        0 => Step::Exec,
        1 => Step::CloseOnExec,
        2 => Step::Label,
        _ => return None,
    };
    Some((step, Errno::from_raw(i32::from(*errno))))
}

/// The LSM label the program gets at its exec: the attr file to write it to (opened
/// before the trampoline runs, not close-on-exec) and the text to write.
pub struct ExecLabel {
    pub attr_file: OwnedFd,
    pub text: CString,
}

/// The trampoline on a sealed memfd, ready for `execveat`.
pub struct Trampoline {
    image: OwnedFd,
}

impl Trampoline {
    /// Writes the trampoline into a new sealed memfd (close-on-exec: `execveat` runs it
    /// all the same, and nothing else inherits it). Fails where there is no trampoline
    /// for this architecture or the kernel refuses executable memfds
    /// (`vm.memfd_noexec`).
    pub fn load() -> Result<Trampoline> {
        let image = elf_image()?;
        let memfd = executable_memfd()?;
        let mut file = File::from(memfd);
        file.write_all(&image)
            .context("writing the exec trampoline")?;
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: F_ADD_SEALS takes an integer bitmask.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(std::io::Error::last_os_error()).context("sealing the exec trampoline");
        }
        Ok(Trampoline {
            image: OwnedFd::from(file),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.image.as_raw_fd()
    }

    /// Execs `path` through the trampoline; returns only the reason the trampoline itself
    /// could not be exec'd. `report` must not be close-on-exec; failures after this point
    /// arrive on it (see [`parse_report`]).
    pub fn exec(
        &self,
        report: RawFd,
        label: Option<&ExecLabel>,
        path: &CStr,
        argv: &[CString],
        envp: &[CString],
    ) -> Errno {
        let number = |fd: RawFd| CString::new(fd.to_string()).expect("digits");
        let mut args: Vec<&CStr> = Vec::with_capacity(argv.len() + 4);
        let report_fd = number(report);
        let (label_fd, label_text) = match label {
            Some(label) => (number(label.attr_file.as_raw_fd()), label.text.as_c_str()),
            None => (CString::default(), c""),
        };
        args.push(&report_fd);
        args.push(&label_fd);
        args.push(label_text);
        args.push(path);
        args.extend(argv.iter().map(CString::as_c_str));
        let mut argv_pointers: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv_pointers.push(std::ptr::null());
        let mut envp_pointers: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
        envp_pointers.push(std::ptr::null());
        // SAFETY: execveat reads NUL-terminated strings and NULL-terminated pointer
        // arrays that outlive the call; on success it does not return.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                self.image.as_raw_fd(),
                c"".as_ptr(),
                argv_pointers.as_ptr(),
                envp_pointers.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        Errno::last()
    }
}

/// A new memfd that may be sealed and exec'd. MFD_EXEC (Linux 6.3) says so explicitly
/// where `vm.memfd_noexec` would otherwise make it non-executable; older kernels refuse
/// the flag, and their memfds are executable anyway.
fn executable_memfd() -> Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let name = c"ocirun-exec";
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    for flags in [base | MFD_EXEC, base] {
        // SAFETY: memfd_create reads a NUL-terminated name and returns a new descriptor.
        let raw = unsafe { libc::memfd_create(name.as_ptr(), flags) };
        if raw >= 0 {
            // SAFETY: memfd_create just returned this descriptor to us alone.
            return Ok(unsafe { OwnedFd::from_raw_fd(raw) });
        }
        if Errno::last() != Errno::EINVAL {
            break;
        }
    }
    Err(std::io::Error::last_os_error()).context("creating the exec trampoline's memfd")
}

#[cfg(target_arch = "x86_64")]
fn elf_image() -> Result<Vec<u8>> {
    const EM_X86_64: u16 = 62;
    Ok(elf_around(&CODE, EM_X86_64))
}

#[cfg(not(target_arch = "x86_64"))]
fn elf_image() -> Result<Vec<u8>> {
    Err(crate::error::Error::new(
        "no exec trampoline for this architecture",
    ))
}

/// A static ELF64 executable whose only segment is the file itself, read and execute,
/// with `code` at [`CODE_OFFSET`] as its entry point.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn elf_around(code: &[u8], machine: u16) -> Vec<u8> {
    const PT_LOAD: u32 = 1;
    const PT_GNU_STACK: u32 = 0x6474_e551;
    const PF_X: u32 = 1;
    const PF_W: u32 = 2;
    const PF_R: u32 = 4;
    let size = (CODE_OFFSET + code.len()) as u64;
    let mut image = Vec::with_capacity(CODE_OFFSET + code.len());
    // e_ident: ELF, 64-bit, little-endian, version 1, System V ABI, padding.
    image.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    image.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    image.extend_from_slice(&machine.to_le_bytes());
    image.extend_from_slice(&1u32.to_le_bytes()); // e_version
    image.extend_from_slice(&(BASE_ADDRESS + CODE_OFFSET as u64).to_le_bytes()); // e_entry
    image.extend_from_slice(&(ELF_HEADER_SIZE as u64).to_le_bytes()); // e_phoff
    image.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    image.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    image.extend_from_slice(&(ELF_HEADER_SIZE as u16).to_le_bytes());
    image.extend_from_slice(&(PROGRAM_HEADER_SIZE as u16).to_le_bytes());
    image.extend_from_slice(&2u16.to_le_bytes()); // e_phnum
    image.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    let mut segment = |kind: u32, flags: u32, offset: u64, address: u64, size: u64, align: u64| {
        image.extend_from_slice(&kind.to_le_bytes());
        image.extend_from_slice(&flags.to_le_bytes());
        image.extend_from_slice(&offset.to_le_bytes());
        image.extend_from_slice(&address.to_le_bytes()); // p_vaddr
        image.extend_from_slice(&address.to_le_bytes()); // p_paddr
        image.extend_from_slice(&size.to_le_bytes()); // p_filesz
        image.extend_from_slice(&size.to_le_bytes()); // p_memsz
        image.extend_from_slice(&align.to_le_bytes());
    };
    segment(PT_LOAD, PF_R | PF_X, 0, BASE_ADDRESS, size, 0x1000);
    segment(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 16);
    image.extend_from_slice(code);
    image
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    /// A shell command that prints "leaked" if the report or label descriptor is open.
    const LEAK_CHECK: &str = "for fd in $REPORT_FD $LABEL_FD; do \
                              [ -e /proc/self/fd/$fd ] && echo leaked; done; true";

    /// Runs `path argv` through the trampoline in a child; returns what the child wrote
    /// to stdout, what the trampoline reported, and the exit code.
    fn through_trampoline(
        path: &str,
        argv: &[&str],
        env: &[&str],
        label: Option<(OwnedFd, &str)>,
    ) -> (String, Vec<u8>, i32) {
        let trampoline = Trampoline::load().unwrap();
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let (mut out_read, out_write) = std::io::pipe().unwrap();
        let path = CString::new(path).unwrap();
        let argv: Vec<CString> = argv.iter().map(|a| CString::new(*a).unwrap()).collect();
        // The program checks that neither descriptor reached it.
        let mut env: Vec<String> = env.iter().map(|e| e.to_string()).collect();
        env.push(format!("REPORT_FD={}", theirs.as_raw_fd()));
        if let Some((fd, _)) = &label {
            env.push(format!("LABEL_FD={}", fd.as_raw_fd()));
        }
        let envp: Vec<CString> = env.into_iter().map(|e| CString::new(e).unwrap()).collect();
        let label = label.map(|(fd, text)| ExecLabel {
            attr_file: fd,
            text: CString::new(text).unwrap(),
        });
        // SAFETY: the child only dup2s, clears a flag and execs, then _exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                // SAFETY: plain descriptor calls on descriptors the child owns.
                unsafe {
                    libc::dup2(out_write.as_raw_fd(), 1);
                    libc::fcntl(theirs.as_raw_fd(), libc::F_SETFD, 0);
                }
                let errno =
                    trampoline.exec(theirs.as_raw_fd(), label.as_ref(), &path, &argv, &envp);
                eprintln!("execveat: {errno}");
                // SAFETY: leave the forked test process at once.
                unsafe { libc::_exit(99) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(theirs);
                drop(out_write);
                drop(label);
                let mut report = Vec::new();
                ours.read_to_end(&mut report).unwrap();
                let mut stdout = String::new();
                out_read.read_to_string(&mut stdout).unwrap();
                let code = match nix::sys::wait::waitpid(child, None).unwrap() {
                    nix::sys::wait::WaitStatus::Exited(_, code) => code,
                    other => panic!("{other:?}"),
                };
                (stdout, report, code)
            }
        }
    }

    #[test]
    fn the_program_gets_its_arguments_and_environment_and_not_the_report_descriptor() {
        let (stdout, report, code) = through_trampoline(
            "/bin/sh",
            &[
                "my-name",
                "-c",
                &format!("echo $0 $1 $GREETING; {LEAK_CHECK}"),
                "zero",
                "one",
            ],
            &["GREETING=hello"],
            None,
        );
        // The report socket was closed at exec.
        assert_eq!(stdout, "zero one hello\n");
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(code, 0);
    }

    #[test]
    fn a_failed_exec_is_reported_with_its_errno() {
        let (stdout, report, code) = through_trampoline("/nonexistent/program", &["x"], &[], None);
        assert_eq!(stdout, "");
        assert_eq!(parse_report(&report), Some((Step::Exec, Errno::ENOENT)));
        assert_eq!(code, 127);
    }

    #[test]
    fn the_label_is_written_to_its_descriptor_before_the_exec() {
        let (mut label_read, label_write) = std::io::pipe().unwrap();
        let label_write = OwnedFd::from(label_write);
        // SAFETY: clearing FD_CLOEXEC on a descriptor we own.
        unsafe { libc::fcntl(label_write.as_raw_fd(), libc::F_SETFD, 0) };
        let (stdout, report, code) = through_trampoline(
            "/bin/sh",
            &["sh", "-c", LEAK_CHECK],
            &[],
            Some((label_write, "system_u:system_r:container_t:s0")),
        );
        let mut written = String::new();
        label_read.read_to_string(&mut written).unwrap();
        assert_eq!(written, "system_u:system_r:container_t:s0");
        // The label's descriptor was closed before the exec, like the report's.
        assert_eq!(stdout, "");
        assert!(report.is_empty());
        assert_eq!(code, 0);
    }

    #[test]
    fn a_label_that_cannot_be_written_stops_the_exec() {
        let dev_null = File::open("/dev/null").unwrap(); // read-only: the write fails
        let fd = OwnedFd::from(dev_null);
        // SAFETY: clearing FD_CLOEXEC on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) };
        let (stdout, report, code) = through_trampoline(
            "/bin/sh",
            &["sh", "-c", "echo ran"],
            &[],
            Some((fd, "label")),
        );
        assert_eq!(stdout, "");
        assert_eq!(parse_report(&report), Some((Step::Label, Errno::EBADF)));
        assert_eq!(code, 127);
    }

    #[test]
    fn run_with_foreign_arguments_it_execs_nothing() {
        // What a container gets by exec'ing /proc/self/exe: the trampoline, which refuses
        // arguments it did not get from us.
        let trampoline = Trampoline::load().unwrap();
        // A duplicate that is not close-on-exec, so the child can name it.
        // SAFETY: dup returns a new descriptor we own.
        let copy = unsafe { OwnedFd::from_raw_fd(libc::dup(trampoline.raw_fd())) };
        let status = std::process::Command::new(format!("/proc/self/fd/{}", copy.as_raw_fd()))
            .args(["--version", "/bin/true", "true"])
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(127));
    }

    #[test]
    fn the_code_matches_its_assembly_source() {
        let dir = tempfile::tempdir().unwrap();
        let object = dir.path().join("t.o");
        let text = dir.path().join("t.bin");
        let source = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/executors/trampoline_x86_64.s"
        );
        let assembled = std::process::Command::new("as")
            .arg("-o")
            .arg(&object)
            .arg(source)
            .status();
        let Ok(status) = assembled else {
            eprintln!("no assembler: skipped");
            return;
        };
        assert!(status.success());
        let copied = std::process::Command::new("objcopy")
            .args(["-O", "binary", "--only-section=.text"])
            .arg(&object)
            .arg(&text)
            .status()
            .unwrap();
        assert!(copied.success());
        assert_eq!(std::fs::read(&text).unwrap(), CODE.to_vec());
    }
}
