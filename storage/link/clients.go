package link

// Client is one provider entry of an identity pool: a user pool's
// provider name and an app client of that pool (the token trio's, which
// the pool lists for the run: identitymap.Admit).
type Client struct {
	Provider, ClientID string
}
