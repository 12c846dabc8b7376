package trigger

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Mallory's old account names the victim's address, never verified. She
// signs in with her own name and password: she is migrated, but without
// the address (or any unverified phone number), so in a pool that signs
// in by e-mail she cannot hold the victim's.
func TestUnverifiedContactIsNotCarried(t *testing.T) {
	pool := &fakePool{t: t, users: oldPoolUsers()}
	pool.users["pat"] = &fakeUser{password: "Pat-Pass-1!", attrs: map[string]string{"sub": "s-0050", "email": "pat@example.com", "email_verified": "true",
		"phone_number": "+15550123", "phone_number_verified": "false"}}
	pool.users["quinn"] = &fakeUser{password: "Quinn-Pass-1!", attrs: map[string]string{"sub": "s-0051", "phone_number": "+15550124"}}
	h, _ := handlerFor(pool)
	for _, c := range []struct {
		user, password string
		want           map[string]string // contact attributes carried
	}{
		{"mallory", "Mallory-Pass-1!", map[string]string{}},
		{"eve", "Eve-Pass-1!", map[string]string{}},
		{"quinn", "Quinn-Pass-1!", map[string]string{}},
		{"pat", "Pat-Pass-1!", map[string]string{"email": "pat@example.com", "email_verified": "true"}},
		{"alice", "Secret-1a!", map[string]string{"email": "alice@example.com", "email_verified": "true"}},
	} {
		out, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, c.user, c.password))
		if err != nil {
			t.Fatalf("%s: %v", c.user, err)
		}
		got := map[string]string{}
		for k, v := range out.CognitoEventUserPoolsMigrateUserResponse.UserAttributes {
			if strings.HasPrefix(k, "email") || strings.HasPrefix(k, "phone_number") {
				got[k] = v
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s is created with %v, want %v", c.user, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s is created with %v, want %v", c.user, got, c.want)
			}
		}
	}
}

// A forgotten-password request for a user the new pool could send no code
// to (no verified e-mail or phone) is refused: migrated, they would sit in
// the new pool where no code reaches them and no password works.
func TestForgotPasswordWithoutVerifiedContactIsRefused(t *testing.T) {
	pool := &fakePool{t: t, users: oldPoolUsers()}
	pool.users["quinn"] = &fakeUser{password: "Quinn-Pass-1!", attrs: map[string]string{"sub": "s-0051", "phone_number": "+15550124", "phone_number_verified": "false"}}
	pool.users["rita"] = &fakeUser{password: "Rita-Pass-1!", attrs: map[string]string{"sub": "s-0052", "phone_number": "+15550125", "phone_number_verified": "true"}}
	h, logs := handlerFor(pool)
	for _, user := range []string{"eve", "mallory", "quinn"} {
		out, err := h.Handle(context.Background(), migrateEvent(SourceForgotPassword, user, ""))
		if err != ErrRefused || out.CognitoEventUserPoolsMigrateUserResponse.UserAttributes != nil {
			t.Errorf("%s, with no verified contact, migrated by a forgot-password request: %v %+v", user, err, out.CognitoEventUserPoolsMigrateUserResponse)
		}
	}
	if n := strings.Count(logs.String(), "reason=no_verified_contact"); n != 3 {
		t.Errorf("log:\n%s", logs)
	}
	// A verified address or number is enough.
	for _, user := range []string{"alice", "rita"} {
		if _, err := h.Handle(context.Background(), migrateEvent(SourceForgotPassword, user, "")); err != nil {
			t.Errorf("%s: %v", user, err)
		}
	}
	// With the address not carried, the new pool has nowhere to send it.
	h.Config.Attributes = []string{"name"}
	if _, err := h.Handle(context.Background(), migrateEvent(SourceForgotPassword, "alice", "")); err != ErrRefused {
		t.Errorf("alice migrated on forgot-password without her address carried: %v", err)
	}
}

// Every refusal takes RefusalTime, however many calls to the old pool it
// took (an unknown user one, a wrong password two, an address five pages),
// so nobody can tell from the time who exists. Measured on the handler's
// own clock, moved only by the fake pool (40 ms a call) and the handler's
// waiting: no wall-clock assertion.
func TestRefusalsTakeTheSameTime(t *testing.T) {
	pool := &fakePool{t: t, users: oldPoolUsers()}
	pool.users["mfa"] = &fakeUser{password: "Mfa-Pass-1!", mfa: []string{"SMS_MFA"}, attrs: map[string]string{"sub": "s-0060", "email": "mfa@example.com", "email_verified": "true"}}
	clock := &fakeClock{now: time.Now()}
	pool.clock = clock
	h, _ := handlerFor(pool)
	h.Now, h.Sleep = clock.Now, clock.Sleep
	h.RefusalTime = 1500 * time.Millisecond
	for _, c := range []struct{ source, typed, password string }{
		{SourceAuthentication, "nobody", "whatever-1!"},               // unknown: one call
		{SourceAuthentication, "alice", "wrong-password"},             // wrong password: two
		{SourceAuthentication, "dave", "Secret-1d!"},                  // disabled
		{SourceAuthentication, "nobody@example.com", "whatever-1!"},   // unknown address
		{SourceAuthentication, "crowd@example.com", "wrong-password"}, // two pages, then a wrong password
		{SourceAuthentication, "flood@example.com", "Flood-Pass-1!"},  // five pages
		{SourceAuthentication, "smsuser", "Sms-Pass-1!"},              // a challenge
		{SourceForgotPassword, "nobody", ""},                          // unknown, on forgot-password
		{SourceForgotPassword, "mfa@example.com", ""},                 // a second factor, re-read
		{"UserMigration_Other", "alice", "Secret-1a!"},                // not a migration at all
	} {
		start := clock.Now()
		if _, err := h.Handle(context.Background(), migrateEvent(c.source, c.typed, c.password)); err != ErrRefused {
			t.Fatalf("%s %s: %v", c.source, c.typed, err)
		}
		if took := clock.Now().Sub(start); took != h.RefusalTime {
			t.Errorf("refusing %s (%s) took %v, want %v", c.typed, c.source, took, h.RefusalTime)
		}
	}
	// A migration is not held back: the user proved who they are.
	start := clock.Now()
	if _, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, "alice", "Secret-1a!")); err != nil {
		t.Fatal(err)
	}
	if took := clock.Now().Sub(start); took != 2*callTime {
		t.Errorf("migrating alice took %v, want %v", took, 2*callTime)
	}
	// Without a clock of its own the handler waits in real time, but never
	// past its deadline.
	h.Now, h.Sleep, pool.clock = nil, nil, nil
	h.RefusalTime = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := h.Handle(ctx, migrateEvent(SourceAuthentication, "nobody", "x-1!"))
		done <- err
	}()
	select {
	case err := <-done:
		if err != ErrRefused {
			t.Errorf("%v", err)
		}
	case <-time.After(time.Minute):
		t.Error("a refusal waited past the invocation's deadline")
	}
}

// The old pool tells Alice from alice; the new pool does not. Whoever the
// trigger migrated first would take the name and lock the other out: the
// names trigger deploy found colliding are refused, by the name typed and
// by the old user's (an e-mail sign-in of Alice), with the right password.
func TestCaseCollisionsAreRefused(t *testing.T) {
	pool := &fakePool{t: t, users: oldPoolUsers()}
	pool.users["Alice"] = &fakeUser{password: "Upper-Pass-1!", attrs: map[string]string{"sub": "s-0070", "email": "upper@example.com", "email_verified": "true"}}
	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"OLD_USER_POOL_ID": "old-pool", "OLD_APP_CLIENT_ID": "old-client", "CASE_COLLISIONS": CaseKey("alice")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h, logs := handlerFor(pool)
	h.Config.CaseCollisions = cfg.CaseCollisions
	for _, c := range []struct{ typed, password string }{
		{"Alice", "Upper-Pass-1!"}, {"alice", "Secret-1a!"}, {"upper@example.com", "Upper-Pass-1!"}, {"alice@example.com", "Secret-1a!"},
	} {
		for _, source := range []string{SourceAuthentication, SourceForgotPassword} {
			out, err := h.Handle(context.Background(), migrateEvent(source, c.typed, c.password))
			if err != ErrRefused || out.CognitoEventUserPoolsMigrateUserResponse.UserAttributes != nil {
				t.Errorf("%s (%s), whose name collides when case is ignored, was migrated: %v", c.typed, source, err)
			}
		}
	}
	if n := strings.Count(logs.String(), "reason=case_collision"); n != 8 {
		t.Errorf("log:\n%s", logs)
	}
	if _, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, "frank", "Secret-1f!")); err != nil {
		t.Errorf("frank, whose name collides with nobody's: %v", err)
	}
	for _, bad := range []string{"Alice", "0123456789ABCDEF", "0123", "alice,bob"} {
		if _, err := ConfigFromEnv(func(k string) string {
			return map[string]string{"OLD_USER_POOL_ID": "old-pool", "OLD_APP_CLIENT_ID": "old-client", "CASE_COLLISIONS": bad}[k]
		}); err == nil {
			t.Errorf("CASE_COLLISIONS=%q was accepted", bad)
		}
	}
}
