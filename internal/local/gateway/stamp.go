package gateway

import (
	"bytes"
	"strconv"
)

// itemStamp places an item answer in the history of its item: the
// version and creation time at the head of the item's JSON, as the items
// API writes it ({"id":"...","version":N,"createdAt":"...",...}). The
// response cache orders answers of one item by it, so that an answer
// read earlier never replaces a newer one (two misses racing after a
// write that did not pass through the gateway). The creation time orders
// the incarnations of an id deleted and created again, whose version
// starts again at 1; its text is in one fixed layout, so it orders as a
// string.
type itemStamp struct {
	createdAt string
	version   int64
	ok        bool
}

// parseItemStamp reads the stamp of an item answer; ok is false for any
// other body.
func parseItemStamp(body []byte) itemStamp {
	rest, ok := bytes.CutPrefix(body, []byte(`{"id":"`))
	if !ok {
		return itemStamp{}
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return itemStamp{}
	}
	if rest, ok = bytes.CutPrefix(rest[end+1:], []byte(`,"version":`)); !ok {
		return itemStamp{}
	}
	end = bytes.IndexByte(rest, ',')
	if end < 0 {
		return itemStamp{}
	}
	v, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return itemStamp{}
	}
	if rest, ok = bytes.CutPrefix(rest[end:], []byte(`,"createdAt":"`)); !ok {
		return itemStamp{}
	}
	end = bytes.IndexByte(rest, '"')
	if end < 0 {
		return itemStamp{}
	}
	return itemStamp{createdAt: string(rest[:end]), version: v, ok: true}
}

// order is the result of comparing two answers.
type order int

const (
	older order = iota - 1
	same
	newer
	unordered
)

// compareAnswers orders answer a against answer b of the same key.
// Answers that are not items (list pages) are ordered by nothing: the
// newer read wins, as before.
func compareAnswers(a, b *cachedResponse) order {
	s, o := a.stamp, b.stamp
	switch {
	case a.etag != "" && a.etag == b.etag:
		return same
	case !s.ok || !o.ok:
		return newer
	case s.createdAt > o.createdAt:
		return newer
	case s.createdAt < o.createdAt:
		return older
	case s.version > o.version:
		return newer
	case s.version < o.version:
		return older
	}
	return unordered // two incarnations created in one millisecond
}
