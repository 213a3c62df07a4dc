//! Side-effect executors, invoked by the container module per transition. Each owns one
//! kind of effect: namespaces, rootfs and mounts, devices, cgroups, hooks, the process's
//! identity, and the init that ties them together in the child.

pub mod capabilities;
pub mod cgroups;
pub mod console;
pub mod descriptors;
pub mod devices;
pub mod exec_process;
pub mod hooks;
pub mod init;
pub mod lsm;
pub mod mount_api;
pub mod mount_options;
pub mod namespaces;
pub mod process;
pub mod resolve;
pub mod rootfs;
pub mod sealed_binary;
pub mod seccomp;
pub mod spawn;
pub mod start_gate;
pub mod sync;
pub mod trampoline;
pub mod tty;
