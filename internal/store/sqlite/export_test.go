package sqlite

// CacheHits is how many Gets the item cache answered.
func (s *Store) CacheHits() int64 {
	if s.cache == nil {
		return 0
	}
	return s.cache.hits.Load()
}
