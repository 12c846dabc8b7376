// Package gen2patch writes the parts of an Amplify Gen 2 project's
// amplify/backend.ts that a pool migration needs: blocks the tool owns,
// between "// poolmigrate:begin NAME" and "// poolmigrate:end NAME" lines,
// appended after the user's code (so they run last) and replaced or
// removed whole; the user's code around them is never touched. Changes go
// through backendpatch's change sets: a diff for --dry-run, a copy of the
// file for --undo, an atomic write.
package gen2patch

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// BackendPath is the file the blocks go into.
const BackendPath = "amplify/backend.ts"

const (
	beginMark = "// poolmigrate:begin "
	endMark   = "// poolmigrate:end "
)

// Block names.
const (
	RetainBlock  = "retain"
	NewPoolBlock = "new-pool"
	TriggerBlock = "migration-trigger"
)

// blockOrder is the order blocks take in the file: the pool's own
// settings before the trigger, so a block may rely on the ones above it.
var blockOrder = []string{RetainBlock, NewPoolBlock, TriggerBlock, LinkWindowBlock}

// backendVarRE finds `const backend = defineBackend(` (exported or not).
var backendVarRE = regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?(?:const|let|var)[ \t]+([A-Za-z_$][\w$]*)[ \t]*=[ \t]*defineBackend[ \t]*\(`)

// authKeyRE finds the auth resource among defineBackend's keys.
var authKeyRE = regexp.MustCompile(`defineBackend\s*\(\s*\{[^}]*\bauth\b`)

// backendVar returns the name the file gives defineBackend's result.
func backendVar(src string) (string, error) {
	m := backendVarRE.FindAllStringSubmatch(src, -1)
	if len(m) != 1 {
		return "", fmt.Errorf("%s: found %d `const backend = defineBackend({ auth, ... })` statements, want one; poolmigrate adds its blocks after it and needs its name", BackendPath, len(m))
	}
	if !authKeyRE.MatchString(src) {
		return "", fmt.Errorf("%s: defineBackend({...}) has no `auth` resource: there is no user pool for poolmigrate to keep or replace", BackendPath)
	}
	return m[0][1], nil
}

// block is one owned block's span in the file.
type block struct {
	start, end int // byte offsets: start of the begin line, end of the end line's newline
}

// findBlock locates the block name, refusing a half block (a begin
// without its end, or the other way round), which hand edits leave.
func findBlock(src, name string) (block, bool, error) {
	begin := indexLine(src, beginMark+name)
	end := indexLine(src, endMark+name)
	switch {
	case begin < 0 && end < 0:
		return block{}, false, nil
	case begin < 0 || end < 0 || end < begin:
		return block{}, false, fmt.Errorf("%s: the poolmigrate block %q is broken (its begin or end line is missing): restore the file (git, or `--undo`) and run again", BackendPath, name)
	}
	stop := end + len(endMark+name)
	if nl := strings.IndexByte(src[stop:], '\n'); nl >= 0 {
		stop += nl + 1
	} else {
		stop = len(src)
	}
	return block{start: begin, end: stop}, true, nil
}

// indexLine finds a line starting with prefix (after indentation).
func indexLine(src, prefix string) int {
	off := 0
	for _, line := range strings.SplitAfter(src, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), prefix) {
			return off
		}
		off += len(line)
	}
	return -1
}

// setBlock returns src with block name set to body (the lines between
// the markers), or removed when body is "". A new block goes after the
// blocks that come before it in blockOrder, or at the end of the file.
func setBlock(src, name, header, body string) (string, error) {
	b, ok, err := findBlock(src, name)
	if err != nil {
		return "", err
	}
	text := ""
	if body != "" {
		text = beginMark + name + " — " + header + "\n" + body + endMark + name + "\n"
	}
	if ok {
		if text == "" {
			// Take the blank line poolmigrate put before the block with it.
			start := b.start
			if strings.HasSuffix(src[:start], "\n\n") {
				start--
			}
			return src[:start] + src[b.end:], nil
		}
		return src[:b.start] + text + src[b.end:], nil
	}
	if text == "" {
		return src, nil
	}
	at := len(src)
	for i := len(blockOrder) - 1; i >= 0 && blockOrder[i] != name; i-- {
		if later, found, err := findBlock(src, blockOrder[i]); err != nil {
			return "", err
		} else if found && later.start < at {
			at = later.start
		}
	}
	before := src[:at]
	if at == len(src) {
		if before != "" && !strings.HasSuffix(before, "\n") {
			before += "\n"
		}
		return before + "\n" + text, nil
	}
	return before + text + "\n" + src[at:], nil
}

// hasBlock tells whether the file holds the block.
func hasBlock(src, name string) bool {
	_, ok, _ := findBlock(src, name)
	return ok
}

var errNoBackend = errors.New(BackendPath + " is missing: this is not an Amplify Gen 2 project")
