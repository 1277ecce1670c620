package lambda

import (
	"bytes"
	"strconv"
	"testing"
)

// FuzzLineSplitter feeds a function's output, in chunks cut anywhere and
// with markers written between its writes, to the splitter: the lines
// joined again are the output without the markers, every marker is found
// once, and no line is over maxLine.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint8(3), uint8(1))
	f.Add([]byte("no newline at the end"), uint8(0), uint8(5))
	f.Add([]byte("a\x00\x1esurge-log:nope\nb\n"), uint8(7), uint8(2))
	f.Add(bytes.Repeat([]byte("x"), 3000), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, out []byte, cut, at uint8) {
		if bytes.Contains(out, []byte(logMagic)) {
			t.Skip("a function's output never holds the magic bytes")
		}
		// The stream: the output with a marker inserted at a write
		// boundary, then a second marker at its end.
		pos := 0
		if len(out) > 0 {
			pos = int(at) % (len(out) + 1)
		}
		var stream []byte
		stream = append(stream, out[:pos]...)
		stream = append(stream, logMagic+"7\n"...)
		stream = append(stream, out[pos:]...)
		stream = append(stream, logMagic+"8\n"...)
		var sp lineSplitter
		var lines [][]byte
		var marks []uint64
		line := func(l []byte) {
			if len(l) > maxLine {
				t.Fatalf("a line of %d bytes", len(l))
			}
			lines = append(lines, bytes.Clone(l))
		}
		mark := func(seq uint64) { marks = append(marks, seq) }
		step := int(cut) + 1
		for i := 0; i < len(stream); i += step {
			sp.feed(stream[i:min(i+step, len(stream))], line, mark)
		}
		sp.end(line)
		if len(marks) != 2 || marks[0] != 7 || marks[1] != 8 {
			t.Fatalf("markers %v, want [7 8]", marks)
		}
		// Lines cut at maxLine join without a newline; the output here is
		// far shorter, so every line ended with one, but the last.
		joined := bytes.Join(lines, []byte("\n"))
		want := out
		if bytes.HasSuffix(want, []byte("\n")) {
			want = want[:len(want)-1]
		}
		if !bytes.Equal(joined, want) {
			t.Fatalf("lines %s\nwant %s", strconv.Quote(string(joined)), strconv.Quote(string(want)))
		}
	})
}
