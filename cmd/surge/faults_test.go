package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Function instances killed with SIGKILL at random under a write load
// fail only the requests they were serving (failures <= kills), and no
// acknowledged write is lost.
func TestFunctionInstancesKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	p := startInProcess(t, append(functionArgs, "--function-provisioned", "2", "--access-log=false")...)
	pool := p.srv.Pools()[0]

	const writers, each, maxKills = 6, 40, 12
	var kills atomic.Int64
	stop := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for kills.Load() < maxKills {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(20+rand.IntN(40)) * time.Millisecond):
			}
			pids := pool.PIDs()
			if len(pids) == 0 {
				continue
			}
			if syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGKILL) == nil {
				kills.Add(1)
			}
		}
	}()

	var mu sync.Mutex
	acks := map[string]ack{}
	statuses := map[int]int{}
	var failures atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("k%d-%d", w, i)
				v := fmt.Sprintf("%x", rand.Uint64())
				code, _, body, err := tryDo("POST", p.base+"/items", map[string]any{"id": id, "v": v})
				mu.Lock()
				statuses[code]++
				mu.Unlock()
				if err != nil || code != 201 {
					failures.Add(1)
					continue
				}
				var it struct{ Version int64 }
				if err := json.Unmarshal(body, &it); err != nil {
					t.Errorf("create %s: %v", id, err)
				}
				mu.Lock()
				acks[id] = ack{id, it.Version, v}
				mu.Unlock()
				code, _, body, err = tryDo("PUT", p.base+"/items/"+id, map[string]any{"v": v + "+"})
				mu.Lock()
				statuses[code]++
				mu.Unlock()
				if err != nil || code != 200 {
					failures.Add(1)
					continue
				}
				_ = json.Unmarshal(body, &it)
				mu.Lock()
				acks[id] = ack{id, it.Version, v + "+"}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-killed
	if kills.Load() == 0 {
		t.Fatal("no instance was killed; the test needs kills under the load")
	}
	if f := failures.Load(); f > kills.Load() {
		t.Errorf("%d requests failed for %d instances killed: a kill must fail only its own request (statuses %v)", f, kills.Load(), statuses)
	}
	checkAcks(t, p.base, acks)
	t.Logf("%d kills, %d failed requests, %d items acknowledged, statuses %v", kills.Load(), failures.Load(), len(acks), statuses)
}

// The surge binary refuses to start on a database file it cannot use,
// with exit code 1 and a message that names the file and says why.
func TestServeRefusesAnUnusableDatabase(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A directory every user may enter, holding a copy of this binary, for
	// the case run as another user.
	shared, err := os.MkdirTemp("", "surge-unusable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string) *syscall.Credential
		want    string
	}{
		{"NotADatabase", func(t *testing.T, path string) *syscall.Credential {
			mustWrite(t, path, strings.Repeat("not a database\n", 100), 0o644)
			return nil
		}, "is not an SQLite database"},
		{"Permissions", func(t *testing.T, path string) *syscall.Credential {
			mustWrite(t, path, "", 0o600)
			if os.Geteuid() != 0 {
				if err := os.Chmod(path, 0); err != nil {
					t.Fatal(err)
				}
				return nil
			}
			// Root opens any file: run surge as nobody, on root's file.
			return &syscall.Credential{Uid: 65534, Gid: 65534}
		}, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(shared, tc.name)
			if err := os.Mkdir(data, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(data, "items.db")
			cred := tc.prepare(t, path)
			bin := exe
			if cred != nil {
				bin = filepath.Join(shared, "surge")
				if _, err := os.Stat(bin); err != nil {
					copyFile(t, exe, bin)
				}
			}
			cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", data)
			cmd.Env = append(os.Environ(), "SURGE_TEST_MAIN=1")
			if cred != nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("got %v, want exit code 1; stderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), path) {
				t.Errorf("stderr does not name %s and say %q:\n%s", path, tc.want, stderr.String())
			}
		})
	}
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
