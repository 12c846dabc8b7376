package authplan

import (
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// Trigger is one Lambda trigger of the old pool.
type Trigger struct {
	Event    string   `json:"event"`    // PostConfirmation, PreSignup, ...
	Function string   `json:"function"` // the function resource
	Modules  []string `json:"modules,omitempty"`
}

// ReadTriggers lists the Lambda triggers of an auth resource's settings:
// the triggers map (an object, or a JSON string in older projects) and the
// function dependsOn entries with triggerProvider Cognito.
func ReadTriggers(c gjson.Result) []Trigger {
	byEvent := map[string]*Trigger{}
	tr := c.Get("triggers")
	if tr.Type == gjson.String {
		tr = gjson.Parse(tr.String())
	}
	tr.ForEach(func(event, modules gjson.Result) bool {
		t := &Trigger{Event: event.String(), Modules: stringList(modules)}
		byEvent[t.Event] = t
		return true
	})
	resource := c.Get("resourceName").String()
	for _, d := range c.Get("dependsOn").Array() {
		if d.Get("category").String() != "function" || d.Get("triggerProvider").String() != "Cognito" {
			continue
		}
		fn := d.Get("resourceName").String()
		event := strings.TrimPrefix(fn, resource)
		t, ok := byEvent[event]
		if !ok {
			t = &Trigger{Event: event}
			byEvent[event] = t
		}
		t.Function = fn
	}
	for _, conn := range c.Get("authTriggerConnections").Array() {
		v := conn
		if v.Type == gjson.String {
			v = gjson.Parse(v.String())
		}
		if t, ok := byEvent[v.Get("triggerType").String()]; ok && t.Function == "" {
			t.Function = v.Get("lambdaFunctionName").String()
		}
	}
	out := []Trigger{}
	for _, t := range byEvent {
		if t.Function == "" {
			t.Function = resource + t.Event
		}
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Event < out[j].Event })
	return out
}
