package load

import (
	"math/rand/v2"
	"testing"
)

func TestRetireShare(t *testing.T) {
	cases := []struct {
		mix, ops map[string]float64
		want     float64
	}{
		{map[string]float64{"create": 20, "delete": 5, "read": 50}, nil, 0.25},
		{map[string]float64{"create": 1, "read": 9}, nil, 0},
		{map[string]float64{"create": 1, "delete": 3}, nil, 1},
		{map[string]float64{"read": 1, "delete": 1}, nil, 0.5},
		// The dispatcher's share counts: ops weight 4, half of it deletes.
		{map[string]float64{"create": 4, "ops": 4}, map[string]float64{"delete": 1, "read": 1}, 0.5},
	}
	for _, c := range cases {
		if got := retireShare(c.mix, c.ops); got != c.want {
			t.Errorf("retireShare(%v, %v) = %v, want %v", c.mix, c.ops, got, c.want)
		}
	}
}

// A delete takes ids that no read, update or patch could have picked, while
// ids kept for deletes last.
func TestPoolKeepsDeletesApart(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newPool(1000, 0.3)
	for i := range 1000 {
		p.add(string(rune('a'+i%26))+string(rune('0'+i/26%10))+string(rune('A'+i/260)), r)
	}
	shared := map[string]bool{}
	for _, id := range p.ids {
		shared[id] = true
	}
	doomed := len(p.doomed)
	if doomed < 200 || doomed > 400 {
		t.Fatalf("%d of 1000 ids kept for deletes, want about 300", doomed)
	}
	for range doomed {
		id, ok := p.take(r)
		if !ok || shared[id] {
			t.Fatalf("take returned %q (ok %v), an id reads may be using", id, ok)
		}
	}
	// Then deletes fall back to the shared ids.
	if id, ok := p.take(r); !ok || !shared[id] {
		t.Errorf("take after the kept ids: got %q %v, want a shared id", id, ok)
	}
}

// A shared id that a request in flight uses is never taken by a delete
// until the request ends.
func TestPoolTakesNoIDInUse(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	p := newPool(10, 0)
	p.add("a", r)
	k := &picker{r: r}
	var req request
	if id, ok := p.pick(k, &req); !ok || id != "a" {
		t.Fatalf("pick: got %q %v", id, ok)
	}
	if id, ok := p.take(r); ok {
		t.Fatalf("take returned %q, in use by a request in flight", id)
	}
	p.release(req.held)
	if id, ok := p.take(r); !ok || id != "a" {
		t.Errorf("take after release: got %q %v, want a", id, ok)
	}
}
