package dynamo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// change is what one item needs.
type change struct {
	attrs map[string]types.AttributeValue // new values of changed attributes
	move  bool
}

// plan decides an item's new owner values.
func (r *remapRun) plan(it Item) (change, ValueStatus, bool) {
	c := change{attrs: map[string]types.AttributeValue{}}
	status, had := ValueNew, false
	newStrings := map[string]string{}
	for _, o := range r.spec.Owners {
		av, ok := it[o.Attr]
		if !ok {
			continue
		}
		nv, st, present := r.rewriteAV(o.Claim, av)
		if !present {
			continue
		}
		had = true
		if st == ValueUnmapped && status == ValueNew {
			status = ValueUnmapped
		}
		if nv != nil {
			c.attrs[o.Attr] = nv
			if s, ok := nv.(*types.AttributeValueMemberS); ok {
				newStrings[o.Attr] = s.Value
			}
		}
	}
	for _, comp := range r.spec.Composites {
		touched := false
		oldParts, newParts := make([]string, len(comp.Fields)), make([]string, len(comp.Fields))
		complete := true
		for i, f := range comp.Fields {
			s, ok := it[f].(*types.AttributeValueMemberS)
			if !ok {
				complete = false
				break
			}
			oldParts[i], newParts[i] = s.Value, s.Value
			if nv, ok := newStrings[f]; ok {
				newParts[i], touched = nv, true
			}
		}
		if !touched || !complete {
			continue
		}
		cur, ok := it[comp.Attr].(*types.AttributeValueMemberS)
		if !ok || cur.Value != strings.Join(oldParts, "#") {
			r.note(fmt.Sprintf("%s: item %s: %s is %v, not the fields %v joined by #; left alone", r.spec.Table, KeyString(r.key(it)), comp.Attr, it[comp.Attr], comp.Fields))
			continue
		}
		c.attrs[comp.Attr] = &types.AttributeValueMemberS{Value: strings.Join(newParts, "#")}
	}
	if len(c.attrs) > 0 {
		_, pkChanged := c.attrs[r.pk]
		_, skChanged := c.attrs[r.sk]
		c.move = pkChanged || (r.sk != "" && skChanged)
		return c, ValueChanged, true
	}
	return c, status, had
}

// rewriteAV rewrites a string, or a list or string set element by element.
func (r *remapRun) rewriteAV(claim string, av types.AttributeValue) (types.AttributeValue, ValueStatus, bool) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		nv, st := r.rw.Rewrite(claim, v.Value)
		if st == ValueChanged && nv != v.Value {
			return &types.AttributeValueMemberS{Value: nv}, ValueChanged, true
		}
		if st == ValueChanged {
			st = ValueNew
		}
		return nil, st, true
	case *types.AttributeValueMemberL:
		out := make([]types.AttributeValue, len(v.Value))
		changed, status, had := false, ValueNew, false
		for i, e := range v.Value {
			out[i] = e
			nv, st, h := r.rewriteAV(claim, e)
			had = had || h
			if st == ValueUnmapped {
				status = ValueUnmapped
			}
			if nv != nil {
				out[i], changed = nv, true
			}
		}
		if changed {
			return &types.AttributeValueMemberL{Value: out}, ValueChanged, true
		}
		return nil, status, had
	case *types.AttributeValueMemberSS:
		out := make([]string, len(v.Value))
		changed, status := false, ValueNew
		for i, e := range v.Value {
			out[i] = e
			nv, st := r.rw.Rewrite(claim, e)
			switch {
			case st == ValueChanged && nv != e:
				out[i], changed = nv, true
			case st == ValueUnmapped:
				status = ValueUnmapped
			}
		}
		if changed {
			return &types.AttributeValueMemberSS{Value: out}, ValueChanged, true
		}
		return nil, status, len(v.Value) > 0
	}
	return nil, ValueNew, false
}

// projection names the attributes an in-place remap needs: the key, the
// owner and composite attributes with their fields, and DataStore's
// version fields. A table where an owner value is part of the key may need
// whole items (to move them), so it is scanned whole.
func projection(spec Spec, pk, sk string) (*string, map[string]string) {
	attrs := map[string]bool{pk: true, "_version": true, "_lastChangedAt": true}
	if sk != "" {
		attrs[sk] = true
	}
	for _, o := range spec.Owners {
		if o.Attr == pk || o.Attr == sk {
			return nil, nil
		}
		attrs[o.Attr] = true
	}
	for _, c := range spec.Composites {
		if c.Attr == pk || c.Attr == sk {
			return nil, nil
		}
		attrs[c.Attr] = true
		for _, f := range c.Fields {
			attrs[f] = true
		}
	}
	names := map[string]string{}
	list := make([]string, 0, len(attrs))
	for a := range attrs {
		list = append(list, a)
	}
	sort.Strings(list)
	parts := make([]string, len(list))
	for i, a := range list {
		n := fmt.Sprintf("#p%d", i)
		names[n], parts[i] = a, n
	}
	return ptr(strings.Join(parts, ", ")), names
}
