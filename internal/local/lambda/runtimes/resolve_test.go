package runtimes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
)

// TestResolveErrors checks what Resolve refuses before any instance
// starts, and that it says why.
func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	noExec := filepath.Join(dir, "noexec")
	os.MkdirAll(noExec, 0o755)
	os.WriteFile(filepath.Join(noExec, "bootstrap"), []byte("#!/bin/sh\n"), 0o644)
	bootDir := filepath.Join(dir, "bootdir")
	os.MkdirAll(filepath.Join(bootDir, "bootstrap"), 0o755)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name string
		fn   runtimes.Function
		opt  runtimes.Options
		is   error
		says string
	}{
		{"unknown runtime", runtimes.Function{Runtime: "python2.7", Handler: "a.b", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrUnknownRuntime, "python3.12"},
		{"unknown runtime, java", runtimes.Function{Runtime: "java21", Handler: "a.b", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrUnknownRuntime, "supported: "},
		{"python handler without a function", runtimes.Function{Runtime: "python3.12", Handler: "app", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrBadHandler, "module.function"},
		{"python handler with a dash", runtimes.Function{Runtime: "python3.12", Handler: "my-app.handler", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrBadHandler, "module.function"},
		{"node handler without a function", runtimes.Function{Runtime: "nodejs20.x", Handler: "index", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrBadHandler, "file.function"},
		{"node handler going up", runtimes.Function{Runtime: "nodejs20.x", Handler: "../index.handler", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrBadHandler, "file.function"},
		{"missing bootstrap", runtimes.Function{Runtime: "provided.al2023", Handler: "x", CodeDir: dir},
			runtimes.Options{}, runtimes.ErrNoBootstrap, "bootstrap"},
		{"bootstrap not executable", runtimes.Function{Runtime: "provided.al2", Handler: "x", CodeDir: noExec},
			runtimes.Options{}, runtimes.ErrNoBootstrap, "not executable"},
		{"bootstrap a directory", runtimes.Function{Runtime: "provided.al2", Handler: "x", CodeDir: bootDir},
			runtimes.Options{}, runtimes.ErrNoBootstrap, "not a file"},
		{"missing python", runtimes.Function{Runtime: "python3.12", Handler: "a.b", CodeDir: dir},
			runtimes.Options{Python: filepath.Join(dir, "python-nowhere")}, runtimes.ErrNoInterpreter, "python-nowhere"},
		{"missing node", runtimes.Function{Runtime: "nodejs22.x", Handler: "a.b", CodeDir: dir},
			runtimes.Options{Node: filepath.Join(dir, "node-nowhere")}, runtimes.ErrNoInterpreter, "node-nowhere"},
		{"bad python client", runtimes.Function{Runtime: "python3.12", Handler: "a.b", CodeDir: dir},
			runtimes.Options{PythonClient: "other"}, nil, "python client"},
		{"missing code directory", runtimes.Function{Runtime: "python3.12", Handler: "a.b", CodeDir: filepath.Join(dir, "nope")},
			runtimes.Options{}, os.ErrNotExist, "code directory"},
		{"code directory a file", runtimes.Function{Runtime: "nodejs20.x", Handler: "a.b", CodeDir: file},
			runtimes.Options{}, nil, "not a directory"},
		{"no code directory", runtimes.Function{Runtime: "nodejs20.x", Handler: "a.b"},
			runtimes.Options{}, nil, "code directory is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.CacheDir = cacheDir
			l, err := runtimes.Resolve(context.Background(), tc.fn, tc.opt)
			if err == nil {
				t.Fatalf("got %+v, want an error", l)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("got %v, want an error that is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "runtimes: ") {
				t.Errorf("got %q, want it to say %q", err, tc.says)
			}
		})
	}
}

// TestPythonInterpreterChoice checks that an interpreter that cannot
// import what the function needs is refused, with the reason, and that a
// module every Python has is found.
func TestPythonInterpreterChoice(t *testing.T) {
	fn := runtimes.Function{Runtime: "python3.12", Handler: "app.handler", CodeDir: "testdata/python"}
	l := resolve(t, fn, runtimes.Options{PythonModules: []string{"json", "http.client"}})
	if !filepath.IsAbs(l.Interpreter) || l.InterpreterVersion == "" || l.Command[0] != l.Interpreter {
		t.Errorf("got interpreter %q version %q command %v", l.Interpreter, l.InterpreterVersion, l.Command)
	}
	_, err := runtimes.Resolve(context.Background(), fn, runtimes.Options{CacheDir: cacheDir,
		PythonModules: []string{"surge_no_such_module"}})
	if !errors.Is(err, runtimes.ErrNoInterpreter) || !strings.Contains(err.Error(), "surge_no_such_module") {
		t.Errorf("got %v, want no interpreter, naming the module", err)
	}
	_, err = runtimes.Resolve(context.Background(), fn, runtimes.Options{CacheDir: cacheDir, PythonModules: []string{"os; import sys"}})
	if err == nil || !strings.Contains(err.Error(), "not a module name") {
		t.Errorf("got %v, want a refused module name", err)
	}
	// An explicit interpreter is used as it is asked for.
	t.Setenv(runtimes.EnvPython, l.Interpreter)
	l2 := resolve(t, fn, runtimes.Options{})
	if l2.Interpreter != l.Interpreter {
		t.Errorf("with %s=%s: got %s", runtimes.EnvPython, l.Interpreter, l2.Interpreter)
	}
}

// TestAWSLambdaRIC checks the awslambdaric option: launched as
// `python -m awslambdaric HANDLER` where the interpreter has it, else
// refused, saying so.
func TestAWSLambdaRIC(t *testing.T) {
	fn := runtimes.Function{Runtime: "python3.12", Handler: "app.handler", CodeDir: "testdata/python"}
	resolve(t, fn, runtimes.Options{}) // skips without python
	l, err := runtimes.Resolve(context.Background(), fn, runtimes.Options{CacheDir: cacheDir, PythonClient: runtimes.ClientAWSLambdaRIC})
	if err != nil {
		if !errors.Is(err, runtimes.ErrNoInterpreter) || !strings.Contains(err.Error(), "awslambdaric") {
			t.Fatalf("got %v, want no interpreter that imports awslambdaric", err)
		}
		t.Logf("awslambdaric is not installed here: %v", err)
		return
	}
	if want := []string{l.Interpreter, "-m", "awslambdaric", "app.handler"}; !slices.Equal(l.Command, want) {
		t.Errorf("got %v, want %v", l.Command, want)
	}
	p, _ := startPool(t, l, lambda.Config{})
	var a echoAnswer
	answer(t, invoke(t, p, map[string]any{"op": "echo"}, lambda.InvokeOptions{}), &a)
}

// TestPythonClientFromEnvironment checks that SURGE_PYTHON_CLIENT chooses
// the Python client where Options do not (as `surge serve` leaves them),
// and that Options win over it.
func TestPythonClientFromEnvironment(t *testing.T) {
	fn := runtimes.Function{Runtime: "python3.12", Handler: "app.handler", CodeDir: "testdata/python"}
	own := resolve(t, fn, runtimes.Options{}) // skips without python
	t.Setenv(runtimes.EnvPythonClient, "other")
	if _, err := runtimes.Resolve(context.Background(), fn, runtimes.Options{CacheDir: cacheDir}); err == nil ||
		!strings.Contains(err.Error(), `python client "other"`) || !strings.Contains(err.Error(), runtimes.EnvPythonClient) {
		t.Errorf("%s=other: got %v, want the client refused, naming the variable", runtimes.EnvPythonClient, err)
	}
	l, err := runtimes.Resolve(context.Background(), fn, runtimes.Options{CacheDir: cacheDir, PythonClient: runtimes.ClientSurge})
	if err != nil || !slices.Equal(l.Command, own.Command) {
		t.Errorf("Options.PythonClient surge beside %s=other: got %v %v, want %v", runtimes.EnvPythonClient, l, err, own.Command)
	}
	t.Setenv(runtimes.EnvPythonClient, runtimes.ClientAWSLambdaRIC)
	l, err = runtimes.Resolve(context.Background(), fn, runtimes.Options{CacheDir: cacheDir})
	switch {
	case err != nil && !strings.Contains(err.Error(), "awslambdaric"):
		t.Errorf("%s=awslambdaric: got %v, want no interpreter that imports awslambdaric", runtimes.EnvPythonClient, err)
	case err == nil && !slices.Equal(l.Command, []string{l.Interpreter, "-m", "awslambdaric", "app.handler"}):
		t.Errorf("%s=awslambdaric: got %v", runtimes.EnvPythonClient, l.Command)
	}
}

// TestEnviron checks the order of the environment: the function's own
// after the runtime's defaults, and Lambda's reserved variables last.
func TestEnviron(t *testing.T) {
	l := resolve(t, runtimes.Function{Runtime: "provided.al2023", Handler: "h", CodeDir: "testdata/provided"}, runtimes.Options{})
	env := l.Environ([]string{"TZ=Asia/Tokyo", "_HANDLER=mine"})
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	dir, _ := filepath.Abs("testdata/provided")
	want := map[string]string{"TZ": "Asia/Tokyo", "_HANDLER": "h", "LAMBDA_TASK_ROOT": dir, "LANG": "en_US.UTF-8",
		"AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023"}
	for k, v := range want {
		if last[k] != v {
			t.Errorf("%s: got %q, want %q", k, last[k], v)
		}
	}
	cfg := l.Config(lambda.Config{Name: "x", Env: []string{"A=1"}})
	if cfg.Dir != dir || !slices.Equal(cfg.Command, []string{filepath.Join(dir, "bootstrap")}) || !slices.Contains(cfg.Env, "A=1") {
		t.Errorf("got %+v", cfg)
	}
}
