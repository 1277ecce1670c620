package itemsapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

// Media types a body may have.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// acceptsMedia reports whether a Content-Type value names JSON (or, with
// mergePatch, a JSON Merge Patch), with no charset but UTF-8: JSON is UTF-8
// (RFC 8259), and a body in another charset would be misread.
func acceptsMedia(ct string, mergePatch bool) bool {
	if ct == mediaJSON || (mergePatch && ct == mediaMergePatch) {
		return true // the common case, without parsing
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == mediaJSON || (mergePatch && mt == mediaMergePatch)) {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return true
}

// bodyBuf is a pooled buffer for request bodies; parsers copy what they
// keep, so the buffer goes back to the pool when the request is done.
type bodyBuf struct{ b []byte }

// maxPooledBody is the largest buffer kept in the pool: big bodies are
// rare, and pooling them would pin their memory.
const maxPooledBody = 64 << 10

var bodyPool = sync.Pool{New: func() any { return &bodyBuf{b: make([]byte, 0, 2048)} }}

func (b *bodyBuf) release() {
	if cap(b.b) <= maxPooledBody {
		b.b = b.b[:0]
		bodyPool.Put(b)
	}
}

// readBody reads a request body of at most limit bytes whose Content-Type
// is JSON (or, with mergePatch, a merge patch). A body of another media
// type, or a non-empty one without a Content-Type, is
// unsupported_media_type (415); one over limit is too_large (413); one
// that cannot be read is invalid (400). The caller releases the buffer.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, mergePatch bool) (*bodyBuf, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !acceptsMedia(ct, mergePatch) {
		return nil, errMedia(mergePatch)
	}
	if ct == "" && r.ContentLength > 0 {
		return nil, errMedia(mergePatch)
	}
	buf, err := readAnyBody(w, r, limit)
	if err == nil && ct == "" && len(buf.b) > 0 {
		buf.release()
		return nil, errMedia(mergePatch)
	}
	return buf, err
}

// readAnyBody reads a request body of at most limit bytes whatever its
// Content-Type says, as API Gateway hands a Lambda proxy integration the
// body of any request: the dispatcher's event is JSON however it was sent
// (the AWS tutorial's curl -d sends application/x-www-form-urlencoded).
func readAnyBody(w http.ResponseWriter, r *http.Request, limit int64) (*bodyBuf, error) {
	if r.ContentLength > limit {
		return nil, errBodyTooLarge(limit)
	}
	buf := bodyPool.Get().(*bodyBuf)
	if r.ContentLength > 0 && int64(cap(buf.b)) < r.ContentLength+1 {
		buf.b = make([]byte, 0, r.ContentLength+1) // +1 to see EOF without growing
	}
	var err error
	buf.b, err = readAll(http.MaxBytesReader(w, r.Body, limit), buf.b)
	if err != nil {
		buf.release()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge(limit)
		}
		return nil, items.Errorf(items.EINVALID, "The request body could not be read.")
	}
	return buf, nil
}

// readAll is io.ReadAll into a caller's buffer.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func errMedia(mergePatch bool) error {
	if mergePatch {
		return items.Errorf(rest.CodeUnsupportedMediaType, "The body must be application/merge-patch+json or application/json.")
	}
	return items.Errorf(rest.CodeUnsupportedMediaType, "The body must be application/json.")
}

func errBodyTooLarge(limit int64) error {
	return items.Errorf(items.ETOOLARGE, "The request body is over %d bytes.", limit)
}

// outBuf is a pooled buffer for response bodies.
type outBuf struct{ b []byte }

var outPool = sync.Pool{New: func() any { return &outBuf{b: make([]byte, 0, 2048)} }}

func getOut() *outBuf { return outPool.Get().(*outBuf) }

func (o *outBuf) release() {
	if cap(o.b) <= maxPooledBody {
		o.b = o.b[:0]
		outPool.Put(o)
	}
}
