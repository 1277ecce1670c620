package runtimes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/surgehq/surge/internal/local/lambda"
)

// Family is a kind of runtime: what runs a function's instances.
type Family string

// The runtime families.
const (
	// Provided is a custom runtime: the code directory's bootstrap.
	Provided Family = "provided"
	// Python is a python3.x runtime.
	Python Family = "python"
	// Node is a nodejs runtime.
	Node Family = "nodejs"
)

// runtimeFamilies are the runtime identifiers Resolve knows, as Lambda and
// SAM templates name them.
var runtimeFamilies = map[string]Family{
	"provided.al2023": Provided,
	"provided.al2":    Provided,
	"python3.9":       Python,
	"python3.10":      Python,
	"python3.11":      Python,
	"python3.12":      Python,
	"python3.13":      Python,
	"python3.14":      Python,
	"nodejs20.x":      Node,
	"nodejs22.x":      Node,
}

// Supported returns the runtime identifiers Resolve knows, sorted.
func Supported() []string {
	ids := make([]string, 0, len(runtimeFamilies))
	for id := range runtimeFamilies {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// FamilyOf returns the family of a runtime identifier, and whether Resolve
// knows it.
func FamilyOf(runtime string) (Family, bool) {
	f, ok := runtimeFamilies[runtime]
	return f, ok
}

// Function is a function's code as Lambda knows it, and as a SAM
// template's AWS::Serverless::Function gives it.
type Function struct {
	// Runtime is the runtime identifier, such as python3.12.
	Runtime string
	// Handler is the handler: "module.function" for Python,
	// "file.function" for Node.js, anything for a provided runtime.
	Handler string
	// CodeDir is the function's code directory (CodeUri), the instances'
	// LAMBDA_TASK_ROOT and working directory.
	CodeDir string
}

// Python runtime interface clients.
const (
	// ClientSurge is the client embedded in this package (the default).
	ClientSurge = "surge"
	// ClientAWSLambdaRIC is AWS's awslambdaric, where the interpreter can
	// import it.
	ClientAWSLambdaRIC = "awslambdaric"
)

// Environment variables that stand in for unset Options.
const (
	EnvPython = "SURGE_PYTHON"
	EnvNode   = "SURGE_NODE"
	// EnvPythonClient chooses the Python client (ClientSurge or
	// ClientAWSLambdaRIC) where Options.PythonClient does not, as `surge
	// serve` does not.
	EnvPythonClient = "SURGE_PYTHON_CLIENT"
)

// Options choose the programs that run the runtimes on this machine. The
// zero value chooses them all.
type Options struct {
	// Python is the interpreter of python3.x functions; default $SURGE_PYTHON,
	// else the first of python3.X, /usr/bin/python3 and python3 that
	// imports PythonModules (see the package documentation).
	Python string
	// PythonModules are modules that a Python function imports from the
	// interpreter's own packages, such as boto3, which Lambda's Python
	// runtimes include: the interpreter chosen must import them.
	PythonModules []string
	// PythonClient is ClientSurge or ClientAWSLambdaRIC; default
	// $SURGE_PYTHON_CLIENT, else ClientSurge.
	PythonClient string
	// Node is the node of nodejs functions; default $SURGE_NODE, else node
	// on PATH.
	Node string
	// CacheDir is where the embedded clients are written; default
	// surge/runtimes in the user's cache directory.
	CacheDir string
}

// Launch is how the pool launches a function's instances: the command
// line, working directory and environment of a Lambda execution
// environment of the function's runtime.
type Launch struct {
	// Runtime and Handler are the function's.
	Runtime string
	Handler string
	// Command is the program and its arguments.
	Command []string
	// Dir is the code directory: LAMBDA_TASK_ROOT and the working directory.
	Dir string
	// Interpreter is the python or node that runs the client ("" for a
	// provided runtime), and InterpreterVersion its version (3.11.2, v20.20.2).
	Interpreter        string
	InterpreterVersion string

	// defaults may be changed by the function's environment; reserved may not.
	defaults, reserved []string
}

// Environ returns the instances' environment: the runtime's variables,
// then fnEnv (the function's own, KEY=VALUE), then the variables Lambda
// reserves, which the function's cannot change. The pool adds the rest of
// Lambda's.
func (l *Launch) Environ(fnEnv []string) []string {
	env := make([]string, 0, len(l.defaults)+len(fnEnv)+len(l.reserved))
	env = append(env, l.defaults...)
	env = append(env, fnEnv...)
	return append(env, l.reserved...)
}

// Config returns base with the command line, the directory and the
// environment of l (base.Env being the function's own environment).
func (l *Launch) Config(base lambda.Config) lambda.Config {
	base.Command = slices.Clone(l.Command)
	base.Dir = l.Dir
	base.Env = l.Environ(base.Env)
	return base
}

// Errors Resolve wraps, for errors.Is.
var (
	// ErrUnknownRuntime is a runtime identifier Resolve does not know.
	ErrUnknownRuntime = errors.New("unknown runtime")
	// ErrBadHandler is a handler that the runtime cannot resolve.
	ErrBadHandler = errors.New("bad handler")
	// ErrNoBootstrap is a provided runtime's code without an executable
	// bootstrap.
	ErrNoBootstrap = errors.New("no executable bootstrap")
	// ErrNoInterpreter is a missing python or node, or one that cannot
	// import what Options.PythonModules names.
	ErrNoInterpreter = errors.New("no usable interpreter")
)

// Resolve returns how the pool launches fn's instances, with opt's
// programs. It checks what can be checked before an instance starts (the
// runtime, the handler's form, the code directory, the bootstrap, the
// interpreter); a handler whose module is missing is an init error of
// each instance, reported as Lambda reports it.
func Resolve(ctx context.Context, fn Function, opt Options) (*Launch, error) {
	family, ok := runtimeFamilies[fn.Runtime]
	if !ok {
		return nil, fmt.Errorf("runtimes: runtime %q: %w (supported: %s)", fn.Runtime, ErrUnknownRuntime,
			strings.Join(Supported(), ", "))
	}
	if err := CheckHandler(fn.Runtime, fn.Handler); err != nil {
		return nil, err
	}
	dir, err := codeDir(fn.CodeDir)
	if err != nil {
		return nil, err
	}
	l := &Launch{Runtime: fn.Runtime, Handler: fn.Handler, Dir: dir}
	switch family {
	case Provided:
		err = l.provided()
	case Python:
		err = l.python(ctx, opt)
	case Node:
		err = l.node(ctx, opt)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func codeDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("runtimes: the code directory is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("runtimes: code directory %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("runtimes: code directory: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("runtimes: code directory %s: not a directory", abs)
	}
	return abs, nil
}

var (
	pyIdent = `[A-Za-z_][A-Za-z0-9_]*`
	// The expressions are compiled when first used, not at every start
	// of a surge process.
	pythonRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^` + pyIdent + `([./]` + pyIdent + `)*\.` + pyIdent + `$`)
	})
	nodeBaseRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^.]+\.[^.]+(\.[^.]+)*$`) })
	handlerHelp = map[Family]string{
		Python: "module.function, such as app.lambda_handler or pkg/mod.handler",
		Node:   "file.function, such as index.handler or src/app.handler",
	}
)

// CheckHandler reports whether handler has the form runtime's handlers
// take (an ErrBadHandler error if not). Whether its module and function
// exist is for the instance's init to find out, as on Lambda.
func CheckHandler(runtime, handler string) error {
	family, ok := runtimeFamilies[runtime]
	if !ok {
		return fmt.Errorf("runtimes: runtime %q: %w", runtime, ErrUnknownRuntime)
	}
	bad := func() error {
		return fmt.Errorf("runtimes: handler %q for %s: %w: want %s", handler, runtime, ErrBadHandler, handlerHelp[family])
	}
	switch family {
	case Python:
		if !pythonRe().MatchString(handler) {
			return bad()
		}
	case Node:
		base := handler[strings.LastIndexByte(handler, '/')+1:]
		// ".." is refused as Lambda's Node.js runtime refuses it; an
		// absolute directory is taken, as there.
		if strings.Contains(handler, "..") || !nodeBaseRe().MatchString(base) {
			return bad()
		}
	case Provided:
		// Lambda passes a custom runtime's handler on as it is.
		if strings.ContainsRune(handler, 0) {
			return fmt.Errorf("runtimes: handler %q: %w: it holds a NUL byte", handler, ErrBadHandler)
		}
	}
	return nil
}

// basePath is the PATH of Lambda's execution environment, after the
// runtime's own bin directory.
const basePath = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"

// provided launches CODE/bootstrap, which must be an executable file.
func (l *Launch) provided() error {
	bootstrap := filepath.Join(l.Dir, "bootstrap")
	st, err := os.Stat(bootstrap)
	switch {
	case err != nil:
		return fmt.Errorf("runtimes: %s: %w: %w", l.Runtime, ErrNoBootstrap, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("runtimes: %s: %w: %s is not a file", l.Runtime, ErrNoBootstrap, bootstrap)
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("runtimes: %s: %w: %s is not executable (chmod +x it)", l.Runtime, ErrNoBootstrap, bootstrap)
	}
	l.Command = []string{bootstrap}
	l.defaults = []string{"PATH=" + basePath, "LANG=en_US.UTF-8", "TZ=:UTC"}
	l.reserved = l.reservedEnv(l.Dir)
	return nil
}

// reservedEnv is what Lambda sets for the runtime and a function may not
// change.
func (l *Launch) reservedEnv(runtimeDir string) []string {
	return []string{
		"_HANDLER=" + l.Handler,
		"LAMBDA_TASK_ROOT=" + l.Dir,
		"LAMBDA_RUNTIME_DIR=" + runtimeDir,
		"AWS_EXECUTION_ENV=AWS_Lambda_" + l.Runtime,
	}
}

// python launches the chosen interpreter with the embedded client (or
// awslambdaric).
func (l *Launch) python(ctx context.Context, opt Options) error {
	modules := slices.Clone(opt.PythonModules)
	client := opt.PythonClient
	if client == "" {
		client = os.Getenv(EnvPythonClient)
	}
	switch client {
	case "", ClientSurge:
		client = ClientSurge
	case ClientAWSLambdaRIC:
		modules = append(modules, "awslambdaric")
	default:
		return fmt.Errorf("runtimes: python client %q (Options.PythonClient or $%s): want %s or %s", client, EnvPythonClient, ClientSurge, ClientAWSLambdaRIC)
	}
	py, err := choosePython(ctx, opt.Python, strings.TrimPrefix(l.Runtime, "python"), modules)
	if err != nil {
		return err
	}
	l.Interpreter, l.InterpreterVersion = py.exe, py.version
	runtimeDir := ""
	if client == ClientSurge {
		dir, err := clientDir(opt.CacheDir, "python")
		if err != nil {
			return err
		}
		runtimeDir = dir
		l.Command = []string{py.exe, filepath.Join(dir, pythonClient)}
	} else {
		// awslambdaric lives in the interpreter's packages; its runtime
		// directory is its own.
		runtimeDir = py.dir
		l.Command = []string{py.exe, "-m", "awslambdaric", l.Handler}
	}
	l.defaults = []string{"PATH=" + filepath.Dir(py.exe) + ":" + basePath, "LANG=en_US.UTF-8", "TZ=:UTC",
		"PYTHONPATH=" + runtimeDir, "PYTHONDONTWRITEBYTECODE=1"}
	l.reserved = l.reservedEnv(runtimeDir)
	return nil
}

// node launches node with the embedded client.
func (l *Launch) node(ctx context.Context, opt Options) error {
	n, err := chooseNode(ctx, opt.Node)
	if err != nil {
		return err
	}
	l.Interpreter, l.InterpreterVersion = n.exe, n.version
	dir, err := clientDir(opt.CacheDir, "node")
	if err != nil {
		return err
	}
	l.Command = []string{n.exe, filepath.Join(dir, nodeClient)}
	l.defaults = []string{"PATH=" + filepath.Dir(n.exe) + ":" + basePath, "LANG=en_US.UTF-8", "TZ=:UTC",
		// As Lambda's, without the layers' /opt directories.
		"NODE_PATH=" + dir + "/node_modules:" + dir + ":" + l.Dir}
	l.reserved = l.reservedEnv(dir)
	return nil
}
