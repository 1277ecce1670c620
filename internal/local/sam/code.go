package sam

import (
	"archive/zip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// code reads a function's code: CodeUri (a directory, or a .zip that is
// unpacked) or InlineCode, and Options.Code, which takes the place of
// either (a build for this machine of a function the template deploys
// built for another).
func (b *builder) code(fn *Function, p *props, path string) {
	inline := p.str("InlineCode")
	uri, hasURI := p.get("CodeUri")
	if dir, ok := b.opt.Code[fn.LogicalID]; ok {
		fn.CodeDir = b.abs(dir)
	} else if dir, ok := b.opt.Code[fn.Name]; ok {
		fn.CodeDir = b.abs(dir)
	} else {
		switch {
		case inline != "":
			dir, err := b.writeInline(fn, inline)
			if err != nil {
				b.notes.errorf(path+".InlineCode", "%v", err)
				return
			}
			fn.CodeDir = dir
		case !hasURI:
			b.notes.errorf(path, "no CodeUri or InlineCode (Globals may give CodeUri)")
			return
		default:
			s, ok := uri.(string)
			if !ok || strings.HasPrefix(s, "s3://") {
				b.notes.errorf(path+".CodeUri", "code in S3 (%s) is not run locally: give the local directory (or sam build's), or --template-code %s=DIR", short(uri), fn.LogicalID)
				return
			}
			dir := b.abs(s)
			if strings.HasSuffix(strings.ToLower(dir), ".zip") {
				var err error
				if dir, err = b.unzip(dir); err != nil {
					b.notes.errorf(path+".CodeUri", "%v", err)
					return
				}
			}
			fn.CodeDir = dir
		}
	}
	st, err := os.Stat(fn.CodeDir)
	if err != nil || !st.IsDir() {
		b.notes.errorf(path+".CodeUri", "the code directory %s is not there (build the function first, or give --template-code %s=DIR)", fn.CodeDir, fn.LogicalID)
		return
	}
	if strings.HasPrefix(fn.Runtime, "provided") {
		b.checkBootstrap(fn, path)
	} else {
		for _, a := range fn.Architectures {
			if arch := lambdaArch(runtime.GOARCH); a != arch {
				b.notes.unsupported(path+".Architectures", "%s: the function runs on this machine's %s", a, arch)
			}
		}
	}
}

// abs makes a template's relative path absolute.
func (b *builder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(b.dir, p)
}

// lambdaArch is Lambda's name of a Go architecture.
func lambdaArch(goarch string) string {
	if goarch == "amd64" {
		return "x86_64"
	}
	return goarch
}

// checkBootstrap checks that a custom runtime's bootstrap runs on this
// machine, and says what to do where it was built for another.
func (b *builder) checkBootstrap(fn *Function, path string) {
	f, err := elf.Open(filepath.Join(fn.CodeDir, "bootstrap"))
	if err != nil {
		return // not an ELF file (a script), or none: the runtime says so at start
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want != 0 && f.Machine != want {
		b.notes.errorf(path+".CodeUri", "%s/bootstrap is built for %s, and this machine is %s: build it for this machine "+
			"(for surge's own function, deploy/aws/build.sh writes dist/host/bootstrap) and give --template-code %s=DIR",
			fn.CodeDir, machineName(f.Machine), lambdaArch(runtime.GOARCH), fn.LogicalID)
	}
	if len(fn.Architectures) > 0 && fn.Architectures[0] != lambdaArch(runtime.GOARCH) {
		b.notes.unsupported(path+".Architectures", "%s: the function runs on this machine's %s, built for it", fn.Architectures[0], lambdaArch(runtime.GOARCH))
	}
}

func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_X86_64:
		return "x86_64"
	}
	return m.String()
}

// cacheDir is where unpacked code is kept.
func (b *builder) cacheDir() (string, error) {
	if b.opt.CacheDir != "" {
		return b.opt.CacheDir, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("a cache directory for unpacked code: %w", err)
	}
	return filepath.Join(d, "surge", "sam"), nil
}

// Limits on a .zip CodeUri: Lambda's unzipped deployment package is at
// most 250 MB.
const (
	maxUnzipped = 250 << 20
	maxFiles    = 100000
)

// unzip unpacks a .zip deployment package into a directory named after
// its content, once, and returns the directory.
func (b *builder) unzip(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("the deployment package: %w (build the function first)", err)
	}
	sum := sha256.Sum256(data)
	base, err := b.cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "zip-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	zr, err := zip.OpenReader(file)
	if err != nil {
		return "", fmt.Errorf("the deployment package %s: %w", file, err)
	}
	defer zr.Close()
	if len(zr.File) > maxFiles {
		return "", fmt.Errorf("the deployment package %s holds %d files", file, len(zr.File))
	}
	tmp, err := os.MkdirTemp(base, ".unzip-")
	if err != nil {
		if err := os.MkdirAll(base, 0o755); err != nil {
			return "", fmt.Errorf("unpack %s: %w", file, err)
		}
		if tmp, err = os.MkdirTemp(base, ".unzip-"); err != nil {
			return "", fmt.Errorf("unpack %s: %w", file, err)
		}
	}
	defer os.RemoveAll(tmp)
	var total int64
	for _, f := range zr.File {
		name := filepath.Clean(filepath.FromSlash(f.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("the deployment package %s: a file outside it: %s", file, f.Name)
		}
		dst := filepath.Join(tmp, name)
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		n, err := unzipFile(f, dst, maxUnzipped-total)
		total += n
		if err != nil {
			return "", fmt.Errorf("the deployment package %s: %s: %w", file, f.Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr == nil {
			return dir, nil // unpacked at the same time by another surge
		}
		return "", fmt.Errorf("unpack %s: %w", file, err)
	}
	return dir, nil
}

// unzipFile writes one file of a package, keeping its mode's execute bits
// (a bootstrap's), at most limit bytes.
func unzipFile(f *zip.File, dst string, limit int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	mode := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		mode = 0o755
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errors.New("over Lambda's 250 MB unzipped")
	}
	return n, err
}

// writeInline writes a function's InlineCode where Lambda puts it: index.py
// or index.js (index.mjs for ES modules is not chosen: CloudFormation's
// inline code is CommonJS) in a directory of its own.
func (b *builder) writeInline(fn *Function, code string) (string, error) {
	ext := ""
	switch {
	case strings.HasPrefix(fn.Runtime, "python"):
		ext = ".py"
	case strings.HasPrefix(fn.Runtime, "nodejs"):
		ext = ".js"
	default:
		return "", fmt.Errorf("inline code of %s: only Python and Node.js functions have it", fn.Runtime)
	}
	base, err := b.cacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(fn.Runtime + "\x00" + code))
	dir := filepath.Join(base, "inline-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index"+ext), []byte(code), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}
