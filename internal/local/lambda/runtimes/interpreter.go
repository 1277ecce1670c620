package runtimes

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// probeTimeout bounds one interpreter probe (an import of boto3 takes
// some 100 ms).
const probeTimeout = 20 * time.Second

// interp is an interpreter found on this machine.
type interp struct {
	exe     string // its own path (sys.executable, or node's resolved path)
	version string
	dir     string // for python: where the probed modules live, else ""
}

// probes caches probe results: interpreters do not change while surge runs.
var probes sync.Map // probeKey -> probeResult

type probeKey struct{ cmd, modules string }

type probeResult struct {
	in  interp
	err error
}

var moduleRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
})

// probePython runs cmd to learn its executable and version, and whether it
// imports modules.
func probePython(ctx context.Context, cmd string, modules []string) (interp, error) {
	key := probeKey{cmd, strings.Join(modules, ",")}
	if r, ok := probes.Load(key); ok {
		return r.(probeResult).in, r.(probeResult).err
	}
	script := "import sys\nprint(sys.executable)\nprint('%d.%d.%d' % sys.version_info[:3])\n"
	last := ""
	for _, m := range modules {
		if !moduleRe().MatchString(m) {
			return interp{}, fmt.Errorf("runtimes: python module %q: not a module name", m)
		}
		script += "import " + m + "\n"
		last = m
	}
	if last != "" {
		script += "import os\nprint(os.path.dirname(os.path.dirname(os.path.abspath(" + last + ".__file__))))\n"
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd, "-c", script)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		msg := errorLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		res := probeResult{err: fmt.Errorf("%s: %s", cmd, msg)}
		if ctx.Err() == nil { // a timeout may pass; anything else is as final as the interpreter
			probes.Store(key, res)
		}
		return interp{}, res.err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	in := interp{exe: cmd}
	if len(lines) >= 2 {
		if exe := strings.TrimSpace(lines[0]); exe != "" && filepath.IsAbs(exe) {
			in.exe = exe
		}
		in.version = strings.TrimSpace(lines[1])
	}
	if len(lines) >= 3 {
		in.dir = strings.TrimSpace(lines[len(lines)-1])
	}
	probes.Store(key, probeResult{in: in})
	return in, nil
}

// errorLine is the line of a probe's stderr that says what failed: a
// Python traceback's last line, else the first (a shim's complaint).
func errorLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); strings.Contains(last, "Error") {
		return last
	}
	return strings.TrimSpace(lines[0])
}

// choosePython picks the interpreter of a python3.X function (see the
// package documentation).
func choosePython(ctx context.Context, explicit, version string, modules []string) (interp, error) {
	if explicit == "" {
		explicit = os.Getenv(EnvPython)
	}
	need := ""
	if len(modules) > 0 {
		need = " that imports " + strings.Join(modules, ", ")
	}
	if explicit != "" {
		path, err := exec.LookPath(explicit)
		if err != nil {
			return interp{}, fmt.Errorf("runtimes: python interpreter %s: %w: %w", explicit, ErrNoInterpreter, err)
		}
		in, err := probePython(ctx, path, modules)
		if err != nil {
			return interp{}, fmt.Errorf("runtimes: python interpreter%s: %w: %w", need, ErrNoInterpreter, err)
		}
		return in, nil
	}
	var tried []string
	seen := map[string]bool{}
	for _, name := range []string{"python" + version, "/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			real = path
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		in, err := probePython(ctx, path, modules)
		if err == nil {
			return in, nil
		}
		tried = append(tried, err.Error())
	}
	if len(tried) == 0 {
		return interp{}, fmt.Errorf("runtimes: python%s: %w: none of python%s, /usr/bin/python3 and python3 is installed (or set %s)",
			version, ErrNoInterpreter, version, EnvPython)
	}
	hint := ""
	if len(modules) == 1 && modules[0] == "boto3" {
		hint = "; on Debian, apt-get install python3-boto3"
	}
	return interp{}, fmt.Errorf("runtimes: python%s: %w: no interpreter%s (tried %s)%s, or set %s",
		version, ErrNoInterpreter, need, strings.Join(tried, "; "), hint, EnvPython)
}

// chooseNode picks node: explicit, else $SURGE_NODE, else node on PATH.
func chooseNode(ctx context.Context, explicit string) (interp, error) {
	if explicit == "" {
		explicit = os.Getenv(EnvNode)
	}
	if explicit == "" {
		explicit = "node"
	}
	path, err := exec.LookPath(explicit)
	if err != nil {
		return interp{}, fmt.Errorf("runtimes: node: %w: %w (install Node.js 20 or later, or set %s)", ErrNoInterpreter, err, EnvNode)
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	key := probeKey{path, "node"}
	if r, ok := probes.Load(key); ok {
		return r.(probeResult).in, r.(probeResult).err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return interp{}, fmt.Errorf("runtimes: node %s: %w: %w", path, ErrNoInterpreter, err)
	}
	in := interp{exe: path, version: strings.TrimSpace(string(out))}
	probes.Store(key, probeResult{in: in})
	return in, nil
}
