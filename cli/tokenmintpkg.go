package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	tmdeploy "github.com/poolmigrate/poolmigrate/tokenmint/deploy"
	tmprebuilt "github.com/poolmigrate/poolmigrate/tokenmint/prebuilt"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// tokenmintPrebuilt is the release's own token function package for an
// architecture (nil in a build from source); tests stand in for it.
var tokenmintPrebuilt = tmprebuilt.For

// tokenmintFlags name the token function's code, as trigger deploy's
// --zip and --source name the trigger's.
type tokenmintFlags struct{ zip, source string }

func (f *tokenmintFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.zip, "zip", "", "the token function's deployment package to upload (default: the release's own, or built now from this binary's own source, which needs Go); the output names it with its sha256")
	fs.StringVar(&f.source, "source", "", "build the token function from this poolmigrate source folder instead (the output names the folder and the package's sha256)")
}

func (f tokenmintFlags) validate() error {
	if f.zip != "" && f.source != "" {
		return usagef("--zip FILE or --source DIR, not both")
	}
	return nil
}

// tokenmintPackage returns the token function's deployment package, in
// memory, and where it came from: --zip (read once), built now from
// --source, the release's own, or built now from this binary's own source
// in a private temporary folder, which is removed again. Never from a
// go.mod found around the working folder: the function decides who gets
// a token. It names the package and its SHA-256 on stderr.
func (a *App) tokenmintPackage(ctx context.Context, f tokenmintFlags, arch string) ([]byte, error) {
	pkg, from, err := a.tokenmintPackageFrom(ctx, f, arch)
	if err != nil {
		return nil, fmt.Errorf("the token function's package: %w", err)
	}
	sum := sha256.Sum256(pkg)
	fmt.Fprintf(a.Stderr, "Token function package: %s, sha256 %s\n", from, hex.EncodeToString(sum[:]))
	return pkg, nil
}

func (a *App) tokenmintPackageFrom(ctx context.Context, f tokenmintFlags, arch string) ([]byte, string, error) {
	if f.zip != "" {
		data, err := os.ReadFile(f.zip)
		if err != nil {
			return nil, "", fmt.Errorf("read the package: %w", err)
		}
		return data, "--zip " + f.zip, nil
	}
	if f.source == "" {
		if zip := tokenmintPrebuilt(arch); len(zip) > 0 {
			return zip, "the package built into this release", nil
		}
	}
	source, from := f.source, ""
	switch {
	case source != "":
		if !filepath.IsAbs(source) {
			wd, err := a.Getwd()
			if err != nil {
				return nil, "", err
			}
			source = filepath.Join(wd, source)
		}
		from = "built now from --source " + source
	case a.TokenmintSource != nil:
		from = "built now from this poolmigrate's own source (" + Version + ")"
	default:
		return nil, "", errors.New("this build of poolmigrate carries neither a prebuilt token function nor its source: install a release (npm install -g amplify-poolmigrate), or pass --zip FILE, or --source DIR naming a poolmigrate source folder you trust")
	}
	out, err := os.MkdirTemp("", "poolmigrate-tokenmint-")
	if err != nil {
		return nil, "", fmt.Errorf("make the build folder: %w", err)
	}
	defer os.RemoveAll(out)
	var b trigger.Built
	if source != "" {
		b, err = tmdeploy.Build(ctx, source, out, goArch(arch))
	} else {
		b, err = tmdeploy.BuildEmbedded(ctx, a.TokenmintSource, out, goArch(arch))
	}
	return b.Package, from, err
}
