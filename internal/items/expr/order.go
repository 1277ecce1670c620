package expr

import (
	"slices"
	"unicode/utf8"
)

// Some of DynamoDB's messages name elements in the iteration order of
// Java hash maps and sets: which path another overlaps, which unused
// names and values are listed first. This file reproduces that order, so
// that the messages read as DynamoDB's do: by bucket (the hash code,
// spread, masked by the table size), and in a bucket by insertion.

// javaHash is Java's String.hashCode.
func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16Pair(r)
			h = 31*h + int32(hi)
			h = 31*h + int32(lo)
			continue
		}
		if r == utf8.RuneError {
			r = 0xFFFD
		}
		h = 31*h + int32(r)
	}
	return h
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

// bucket is the bucket of a hash code in a Java HashMap table of size n.
func bucket(h int32, n int) int {
	u := uint32(h)
	return int((u ^ u>>16) & uint32(n-1))
}

// tableSize is the size of a HashMap's table after count insertions into a
// map created with the default capacity (16, doubled past 3/4 full).
func tableSize(count int) int {
	n := 16
	for count > n*3/4 {
		n *= 2
	}
	return n
}

// elemHash is the hash code of a path element as DynamoDB's path
// elements compute it (Apache HashCodeBuilder(8191, 127) over the name or
// the index).
func elemHash(e pelem) int32 {
	base := int32(8191 * 127)
	switch e.kind {
	case pList:
		return base + int32(e.index)
	case pMap:
		return base + javaHash(e.name)
	}
	return base
}

// hashOrder returns the indexes 0..n-1 of a hash map's keys, inserted in
// that order, in the map's iteration order; hash gives a key's hash code
// and size is the table size.
func hashOrder(n, size int, hash func(i int) int32) []int {
	idx := make([]int, n)
	bk := make([]int, n)
	for i := range idx {
		idx[i] = i
		bk[i] = bucket(hash(i), size)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return bk[a] - bk[b] })
	return idx
}

// setOrder returns keys, inserted in that order into a Java HashSet sized
// for total keys (as new HashSet<>(collection) sizes it), in its
// iteration order.
func setOrder(keys []string, total int) []string {
	size := 16
	if c := int(float32(total)/0.75) + 1; c > size {
		size = 1
		for size < c {
			size *= 2
		}
	}
	order := hashOrder(len(keys), size, func(i int) int32 { return javaHash(keys[i]) })
	out := make([]string, len(order))
	for i, j := range order {
		out[i] = keys[j]
	}
	return out
}
