package s3move

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VerifyOptions configure a verify.
type VerifyOptions struct {
	Bucket    string
	Templates []Template
	Moves     []Move
	// Journals are the copy journals of the moves, if any: a multipart
	// copy's ETag (or a copy of a multipart upload) differs from its
	// source's by nature, and the journal records the ETag the copy was
	// given from a source of that ETag.
	Journals []string
	PageSize int32
	// Progress, if set, is called after each user.
	Progress func(done, total int)
}

// VerifyResult says, per user, what is missing or different under the
// new id.
type VerifyResult struct {
	Users []UserCheck `json:"users"`
	// Objects is how many old objects were compared.
	Objects int64 `json:"objects"`
}

// UserCheck is one user's verify.
type UserCheck struct {
	User    string `json:"user"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Objects int64  `json:"objects"`
	// Missing are old keys with no object under the new id.
	Missing []string `json:"missing"`
	// Different are new keys holding another object than the old one.
	Different []Difference `json:"different"`
	// Extra counts objects under the new id with no old one: files the
	// user uploaded since. They are theirs, not a failure.
	Extra int64 `json:"extra"`
}

// Difference is a destination that does not hold its source's object.
type Difference struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// OK tells whether every user's files are all under their new id.
func (r VerifyResult) OK() bool {
	for _, u := range r.Users {
		if !u.OK() {
			return false
		}
	}
	return true
}

// OK tells whether the user's files are all under their new id.
func (u UserCheck) OK() bool { return len(u.Missing) == 0 && len(u.Different) == 0 }

// Verify checks, for every move, that the objects under each new prefix
// are the objects under the old one: the same keys, sizes, and ETags (or
// full-object checksums, or, for a multipart copy, the ETag its journal
// recorded from a source of that ETag). Both listings are walked side by
// side, a page at a time, so memory stays flat however many objects a
// user has.
func Verify(ctx context.Context, api API, o VerifyOptions) (VerifyResult, error) {
	var res VerifyResult
	if err := CheckMoves(o.Moves); err != nil {
		return res, err
	}
	if len(o.Templates) == 0 {
		return res, errors.New("storage verify: no path template")
	}
	copies, err := journaledCopies(o.Journals)
	if err != nil {
		return res, err
	}
	for i, m := range o.Moves {
		u := UserCheck{User: m.User, Old: m.Old, New: m.New, Missing: []string{}, Different: []Difference{}}
		for _, t := range o.Templates {
			if err := verifyPrefix(ctx, api, o, t, m, copies, &u); err != nil {
				return res, err
			}
		}
		res.Objects += u.Objects
		res.Users = append(res.Users, u)
		if o.Progress != nil {
			o.Progress(i+1, len(o.Moves))
		}
	}
	return res, nil
}

// journaledCopy is what a journal knows of a finished copy.
type journaledCopy struct{ sourceETag, etag string }

func journaledCopies(paths []string) (map[string]journaledCopy, error) {
	out := map[string]journaledCopy{}
	for _, p := range paths {
		bySeq := map[int64]Record{}
		err := ReadJournal(p, func(r Record) error {
			switch r.Kind {
			case "copy":
				bySeq[r.Seq] = r
			case "done":
				if c, ok := bySeq[r.Ref]; ok && r.ETag != c.SourceETag {
					out[c.Dest] = journaledCopy{sourceETag: c.SourceETag, etag: r.ETag}
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return out, nil
}

// lister walks one prefix's listing an object at a time.
type lister struct {
	p      *s3.ListObjectsV2Paginator
	prefix string
	page   []object
}

func newLister(api API, bucket, prefix string, pageSize int32) *lister {
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix}
	if pageSize > 0 {
		in.MaxKeys = &pageSize
	}
	return &lister{p: s3.NewListObjectsV2Paginator(api, in), prefix: prefix}
}

// next returns the next object's key after the prefix, or ok false at
// the end.
func (l *lister) next(ctx context.Context) (rel string, o object, ok bool, err error) {
	for len(l.page) == 0 {
		if !l.p.HasMorePages() {
			return "", object{}, false, nil
		}
		page, err := l.p.NextPage(ctx)
		if err != nil {
			return "", object{}, false, fmt.Errorf("list %s: %w", l.prefix, err)
		}
		for _, c := range page.Contents {
			k := deref(c.Key)
			if len(k) >= len(l.prefix) && k[:len(l.prefix)] == l.prefix {
				l.page = append(l.page, object{Key: k, Size: deref(c.Size), ETag: deref(c.ETag), Class: c.StorageClass})
			}
		}
	}
	o = l.page[0]
	l.page = l.page[1:]
	return o.Key[len(l.prefix):], o, true, nil
}

func verifyPrefix(ctx context.Context, api API, vo VerifyOptions, t Template, m Move, copies map[string]journaledCopy, u *UserCheck) error {
	olds := newLister(api, vo.Bucket, t.Prefix(m.Old), vo.PageSize)
	news := newLister(api, vo.Bucket, t.Prefix(m.New), vo.PageSize)
	ok, nk, oo, no, oOK, nOK := "", "", object{}, object{}, false, false
	var err error
	advOld := func() { ok, oo, oOK, err = olds.next(ctx) }
	advNew := func() error {
		var e error
		nk, no, nOK, e = news.next(ctx)
		return e
	}
	if advOld(); err != nil {
		return err
	}
	if err := advNew(); err != nil {
		return err
	}
	for oOK || nOK {
		switch {
		case oOK && (!nOK || ok < nk):
			u.Objects++
			u.Missing = append(u.Missing, oo.Key)
			if advOld(); err != nil {
				return err
			}
		case nOK && (!oOK || nk < ok):
			u.Extra++
			if err := advNew(); err != nil {
				return err
			}
		default:
			u.Objects++
			if why := differs(ctx, api, vo.Bucket, oo, no, copies); why != "" {
				u.Different = append(u.Different, Difference{Key: no.Key, Reason: why})
			}
			if advOld(); err != nil {
				return err
			}
			if err := advNew(); err != nil {
				return err
			}
		}
	}
	return nil
}

// differs says how dest is not src's object ("" when it is).
func differs(ctx context.Context, api API, bucket string, src, dest object, copies map[string]journaledCopy) string {
	if src.Size != dest.Size {
		return fmt.Sprintf("%d bytes, the old object %d", dest.Size, src.Size)
	}
	if src.ETag == dest.ETag {
		return ""
	}
	if c, ok := copies[dest.Key]; ok && c.sourceETag == src.ETag && c.etag == dest.ETag {
		return "" // the multipart copy the journal recorded, of this very source
	}
	if multipartETag(src.ETag) || multipartETag(dest.ETag) {
		sh, err1 := headObject(ctx, api, bucket, src.Key)
		dh, err2 := headObject(ctx, api, bucket, dest.Key)
		if err1 == nil && err2 == nil {
			if same, ok := sameChecksum(fromHead(src.Key, sh), fromHead(dest.Key, dh)); ok {
				if same {
					return ""
				}
				return "another checksum than the old object"
			}
		}
		return "same size, but neither the ETags (one is a multipart upload's) nor a checksum show it is the same object, and no journal recorded its copy: pass the copy's journal, or compare by hand"
	}
	return "another ETag than the old object"
}
