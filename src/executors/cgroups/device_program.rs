//! Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, generated from the
//! rules and attached to the container's cgroup. The kernel runs it on every device
//! access (open, mknod) with the device's type, major, minor and the access asked for;
//! it returns 1 to allow, 0 to deny.
//!
//! The program checks the rules from last to first, so the last matching rule decides, as
//! with the v1 files; no match denies.

use crate::error::{Context, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// One rule: `kind` b'b' / b'c' or None for all; major/minor None for all; `access`
/// bits as the kernel's (mknod 1, read 2, write 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: Option<u8>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
}

impl DeviceRule {
    /// Parses the v1 line form `c 1:3 rwm` / `a *:* rwm`.
    pub fn parse(allow: bool, line: &str) -> Option<DeviceRule> {
        let mut fields = line.split_whitespace();
        let kind = match fields.next()? {
            "a" => None,
            "b" => Some(b'b'),
            "c" => Some(b'c'),
            _ => return None,
        };
        let (major, minor) = fields.next()?.split_once(':')?;
        let number = |n: &str| {
            if n == "*" {
                Some(None)
            } else {
                n.parse().ok().map(Some)
            }
        };
        let access = fields.next()?.chars().try_fold(0u32, |bits, c| match c {
            'm' => Some(bits | ACCESS_MKNOD),
            'r' => Some(bits | ACCESS_READ),
            'w' => Some(bits | ACCESS_WRITE),
            _ => None,
        })?;
        Some(DeviceRule {
            allow,
            kind,
            major: number(major)?,
            minor: number(minor)?,
            access,
        })
    }
}

const ACCESS_MKNOD: u32 = 1;
const ACCESS_READ: u32 = 2;
const ACCESS_WRITE: u32 = 4;
const ACCESS_ALL: u32 = ACCESS_MKNOD | ACCESS_READ | ACCESS_WRITE;
const DEVICE_BLOCK: i32 = 1;
const DEVICE_CHAR: i32 = 2;

/// One BPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    code: u8,
    registers: u8,
    offset: i16,
    immediate: i32,
}

fn insn(code: u8, dst: u8, src: u8, offset: i16, immediate: i32) -> Instruction {
    Instruction {
        code,
        registers: (src << 4) | dst,
        offset,
        immediate,
    }
}

// Opcodes (linux/bpf.h, linux/bpf_common.h).
const LOAD_WORD: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND_IMM: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
const SHIFT_RIGHT_IMM: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
const MOVE_REG: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const MOVE_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JUMP_NOT_EQUAL_IMM: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// The program for `rules` (applied in order; the last match wins).
pub fn program(rules: &[DeviceRule]) -> Vec<Instruction> {
    // r1 points at struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
    let mut code = vec![
        insn(LOAD_WORD, 2, 1, 0, 0),
        insn(MOVE_REG, 3, 2, 0, 0),
        insn(AND_IMM, 3, 0, 0, 0xffff),     // r3: device type
        insn(SHIFT_RIGHT_IMM, 2, 0, 0, 16), // r2: access asked for
        insn(LOAD_WORD, 4, 1, 4, 0),        // r4: major
        insn(LOAD_WORD, 5, 1, 8, 0),        // r5: minor
    ];
    for rule in rules.iter().rev() {
        let mut checks = Vec::new();
        if let Some(kind) = rule.kind {
            let wanted = if kind == b'b' {
                DEVICE_BLOCK
            } else {
                DEVICE_CHAR
            };
            checks.push(vec![insn(JUMP_NOT_EQUAL_IMM, 3, 0, 0, wanted)]);
        }
        if rule.access & ACCESS_ALL != ACCESS_ALL {
            // Any access asked for that the rule does not cover: not this rule.
            checks.push(vec![
                insn(MOVE_REG, 6, 2, 0, 0),
                insn(AND_IMM, 6, 0, 0, (!rule.access & ACCESS_ALL) as i32),
                insn(JUMP_NOT_EQUAL_IMM, 6, 0, 0, 0),
            ]);
        }
        if let Some(major) = rule.major {
            checks.push(vec![insn(JUMP_NOT_EQUAL_IMM, 4, 0, 0, major as i32)]);
        }
        if let Some(minor) = rule.minor {
            checks.push(vec![insn(JUMP_NOT_EQUAL_IMM, 5, 0, 0, minor as i32)]);
        }
        let body: Vec<Instruction> = checks.into_iter().flatten().collect();
        if body.is_empty() {
            // A rule for every device and access decides alone: whatever precedes it
            // can never be reached (and the verifier refuses unreachable code).
            code.push(insn(MOVE_IMM, 0, 0, 0, i32::from(rule.allow)));
            code.push(insn(EXIT, 0, 0, 0, 0));
            return code;
        }
        // Each conditional jump skips to the end of this rule: past the rest of the
        // checks and the two instructions that return the verdict.
        let total = body.len() + 2;
        for (index, mut instruction) in body.into_iter().enumerate() {
            if instruction.code == JUMP_NOT_EQUAL_IMM {
                instruction.offset = (total - index - 1) as i16;
            }
            code.push(instruction);
        }
        code.push(insn(MOVE_IMM, 0, 0, 0, i32::from(rule.allow)));
        code.push(insn(EXIT, 0, 0, 0, 0));
    }
    code.push(insn(MOVE_IMM, 0, 0, 0, 0));
    code.push(insn(EXIT, 0, 0, 0, 0));
    code
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
struct ProgramLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
struct ProgramAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// Loads the program for `rules` and attaches it to the cgroup2 directory `cgroup`.
pub fn attach(cgroup: &Path, rules: &[DeviceRule]) -> Result<()> {
    let instructions = program(rules);
    let license = b"Apache-2.0\0";
    let mut log = vec![0u8; 4096];
    let mut name = [0u8; 16];
    name[..13].copy_from_slice(b"ocirun_device");
    let load = ProgramLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: instructions.len() as u32,
        insns: instructions.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: BPF_CGROUP_DEVICE,
    };
    // SAFETY: `load` is a bpf_attr prefix of the size passed; the instruction, license
    // and log buffers it points to outlive the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &load as *const ProgramLoad,
            std::mem::size_of::<ProgramLoad>(),
        )
    };
    if fd < 0 {
        let error = std::io::Error::last_os_error();
        let verifier = String::from_utf8_lossy(&log)
            .trim_matches(char::from(0))
            .trim()
            .replace('\n', "; ");
        return Err(error).context(format!("loading the device program ({verifier})"));
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    let program = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let directory =
        std::fs::File::open(cgroup).with_context(|| format!("opening {}", cgroup.display()))?;
    let attach = ProgramAttach {
        target_fd: directory.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    // SAFETY: `attach` is a bpf_attr prefix of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attach as *const ProgramAttach,
            std::mem::size_of::<ProgramAttach>(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context(format!(
            "attaching the device program to {}",
            cgroup.display()
        ));
    }
    // The cgroup holds the program now; our descriptor may go.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, line: &str) -> DeviceRule {
        DeviceRule::parse(allow, line).unwrap()
    }

    #[test]
    fn lines_parse_like_the_v1_files() {
        assert_eq!(
            rule(true, "c 1:3 rwm"),
            DeviceRule {
                allow: true,
                kind: Some(b'c'),
                major: Some(1),
                minor: Some(3),
                access: 7
            }
        );
        assert_eq!(
            rule(false, "a *:* rwm"),
            DeviceRule {
                allow: false,
                kind: None,
                major: None,
                minor: None,
                access: 7
            }
        );
        assert_eq!(rule(true, "c 136:* rw").minor, None);
        assert!(DeviceRule::parse(true, "x 1:3 rwm").is_none());
    }

    /// Runs the generated program for one access: a tiny interpreter of the opcodes we emit.
    fn verdict(rules: &[DeviceRule], kind: i32, access: u32, major: u32, minor: u32) -> u64 {
        let code = program(rules);
        let context = [(access << 16) | kind as u32, major, minor];
        let mut registers = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = code[pc];
            let (dst, src) = ((i.registers & 0xf) as usize, (i.registers >> 4) as usize);
            pc += 1;
            match i.code {
                LOAD_WORD => registers[dst] = u64::from(context[i.offset as usize / 4]),
                MOVE_REG => registers[dst] = registers[src],
                MOVE_IMM => registers[dst] = i.immediate as u64,
                AND_IMM => registers[dst] &= i.immediate as u64,
                SHIFT_RIGHT_IMM => registers[dst] >>= i.immediate,
                JUMP_NOT_EQUAL_IMM => {
                    if registers[dst] != i.immediate as u64 {
                        pc = (pc as i64 + i64::from(i.offset)) as usize;
                    }
                }
                EXIT => return registers[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_last_matching_rule_decides() {
        let rules = [
            rule(false, "a *:* rwm"),
            rule(true, "c 1:3 rwm"),
            rule(true, "c 136:* rw"),
            rule(false, "c 1:3 w"),
        ];
        assert_eq!(
            verdict(&rules, DEVICE_CHAR, ACCESS_READ, 1, 3),
            1,
            "null is readable"
        );
        assert_eq!(
            verdict(&rules, DEVICE_CHAR, ACCESS_WRITE, 1, 3),
            0,
            "the last rule denies writing null"
        );
        assert_eq!(
            verdict(&rules, DEVICE_CHAR, ACCESS_READ, 1, 5),
            0,
            "zero is not allowed"
        );
        assert_eq!(
            verdict(&rules, DEVICE_CHAR, ACCESS_READ | ACCESS_WRITE, 136, 4),
            1,
            "any pts"
        );
        assert_eq!(
            verdict(&rules, DEVICE_CHAR, ACCESS_MKNOD, 136, 4),
            0,
            "no mknod of pts"
        );
        assert_eq!(
            verdict(&rules, DEVICE_BLOCK, ACCESS_READ, 1, 3),
            0,
            "a block device 1:3 is another device"
        );
        assert_eq!(
            verdict(&[], DEVICE_CHAR, ACCESS_READ, 1, 3),
            0,
            "no rule denies"
        );
    }

    #[test]
    fn the_kernel_enforces_the_program_on_a_cgroup2_directory() {
        let Some(unified) = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .iter()
            .map(Path::new)
            .find(|p| {
                p.join("cgroup.procs").exists()
                    && nix::sys::statfs::statfs(*p)
                        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            })
        else {
            println!("skipped: no cgroup2 mount here");
            return;
        };
        if !nix::unistd::geteuid().is_root() {
            println!("skipped: attaching a device program needs root");
            return;
        }
        /// Removes the scratch cgroup however the test ends.
        struct Scratch(std::path::PathBuf);
        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let scratch =
            Scratch(unified.join(format!("ocirun-device-program-test-{}", std::process::id())));
        let dir = scratch.0.clone();
        std::fs::create_dir(&dir).unwrap();
        attach(&dir, &[rule(false, "a *:* rwm"), rule(true, "c 1:3 rwm")]).unwrap();
        // A child in the cgroup may open /dev/null but not /dev/zero.
        let script = format!(
            "echo $$ > {}/cgroup.procs && cat /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1; echo $?",
            dir.display()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        drop(scratch);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "null-ok\n1\n",
            "/dev/null allowed, /dev/zero refused: {out:?}"
        );
    }
}
