// Command mkzip writes the deployment package of a Lambda function: a zip
// holding one executable at its root, as the provided.al2023 runtime
// wants its bootstrap. It exists so that building the package needs only
// Go (zip may not be installed), and it writes the same bytes for the same
// executable (a fixed time stamp and mode), so that an unchanged function
// is not uploaded and deployed again.
//
//	go run ./deploy/aws/mkzip -o dist/bootstrap.zip dist/bootstrap
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// modTime is the time stamp of every entry: the zip format's epoch, so the
// archive depends only on the executable's bytes.
var modTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "the zip file to write")
	name := flag.String("name", "", "the entry's name in the zip (default: the file's base name)")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mkzip -o OUT.zip [-name NAME] EXECUTABLE")
		os.Exit(2)
	}
	if err := write(*out, flag.Arg(0), *name); err != nil {
		fmt.Fprintf(os.Stderr, "mkzip: %v\n", err)
		os.Exit(1)
	}
}

// write zips the executable at src into out as name, mode 0755.
func write(out, src, name string) (err error) {
	if name == "" {
		name = filepath.Base(src)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".mkzip-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modTime}
	// Lambda runs the file as it finds it: it must be executable.
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// CreateTemp made it 0600; a package is no secret.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
