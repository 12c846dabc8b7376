package cognitoshim

// DefaultShortEvery is how often, by default, a page of ListUsers,
// ListUsersInGroup or ListGroups that could be full comes back short: the
// 2nd, 5th, 8th… page of a listing holds half the Limit and a token for
// the rest. AWS's pages do this now and then (a page may hold fewer items
// than Limit while more follow), so a client that stops at the first page
// shorter than its Limit loses users; the shim makes it happen on every
// listing of more than a page, deterministically.
const DefaultShortEvery = 3

// WithShortPages sets how often a page comes back short (every n-th page
// from the 2nd; 0: never).
func WithShortPages(n int) Option {
	return func(s *Server) { s.shortEvery = max(n, 0) }
}

// pageSize is how many items page number n (0 is the first) of a listing
// holds when more than that remain.
func (s *Server) pageSize(n, limit int) int {
	if s.shortEvery > 0 && n%s.shortEvery == 1 && limit > 1 {
		return limit / 2
	}
	return limit
}
