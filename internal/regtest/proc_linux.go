package regtest

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill btcd if the process that started it
// dies without calling Stop (e.g. a test binary killed by its timeout).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
