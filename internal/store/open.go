package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/surgehq/surge/internal/items"
)

// Backend is what Open needs of one kind of store. Each backend package
// exports a function that returns its Backend with its own options
// (sqlite.Backend, dynamo.Backend, memstore.Backend, remote.Backend).
type Backend struct {
	// Scheme is the URL scheme the backend opens.
	Scheme string
	// Form is how the help names the URL ("sqlite:PATH").
	Form string
	// Open opens the store that u names; its error names the store. It
	// should send nothing over the network, so that a function's cold
	// start pays for no round trip.
	Open func(ctx context.Context, u *URL) (items.Store, error)
}

// Open opens the store that rawURL names with the backend of its scheme,
// among backends: a program links only the backends it passes.
func Open(ctx context.Context, rawURL string, backends ...Backend) (items.Store, error) {
	u, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	return OpenURL(ctx, u, backends...)
}

// OpenURL is Open for a parsed URL.
func OpenURL(ctx context.Context, u *URL, backends ...Backend) (items.Store, error) {
	for _, b := range backends {
		if b.Scheme == u.Scheme {
			return b.Open(ctx, u)
		}
	}
	forms := make([]string, len(backends))
	for i, b := range backends {
		forms[i] = b.Form
	}
	want := strings.Join(forms, ", ")
	if n := len(forms); n > 1 {
		want = strings.Join(forms[:n-1], ", ") + " or " + forms[n-1]
	}
	return nil, fmt.Errorf("store %q: unknown kind; want %s", u.String(), want)
}
