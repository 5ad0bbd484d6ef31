// Copyright (c) 2026, rtcstack.livekit contributors
// GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// version: the SDK and pion versions this binary was built with, and the clips it holds.
func version() string {
	parts := []string{"rtcstack-loadgen"}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/livekit/server-sdk-go/v2" || d.Path == "github.com/pion/webrtc/v4" {
				parts = append(parts, d.Path+"@"+d.Version)
			}
		}
	}
	entries, _ := clipFiles.ReadDir("clips")
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	parts = append(parts, fmt.Sprintf("clips=%s", strings.Join(names, ",")))
	return strings.Join(parts, " ")
}
