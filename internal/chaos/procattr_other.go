//go:build unix && !linux

package chaos

import "syscall"

// sysProcAttr puts each child in its own process group, so that a Ctrl-C
// in the terminal reaches only the harness, which then stops the children.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
