#!/usr/bin/env bash
# Build rtcstack-loadgen, the go engine of the load test (tools/loadgen), with its clips: Debian's
# ffmpeg encodes them once here from generated sources (lavfi testsrc2 and a sine tone), and the
# binary embeds them, so a generator host needs this one file and runs no encoder.
# Cached under $CACHE/loadgen-<sdk version>-<hash of the sources and of this script>; a second run
# only checks. The last line of the output is the path of the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/versions.env
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
src=tools/loadgen

for pin in "github.com/livekit/server-sdk-go/v2 $LOADGEN_SERVER_SDK_GO_VERSION" "github.com/pion/webrtc/v4 $LOADGEN_PION_WEBRTC_VERSION"; do
  if ! grep -q "^	$pin\$" "$src/go.mod"; then
    echo "build-loadgen: $src/go.mod does not require $pin (scripts/versions.env): make them agree" >&2
    exit 1
  fi
done

key=$(cat "$src"/*.go "$src/go.mod" "$src/go.sum" scripts/build-loadgen.sh | sha256sum | cut -c1-12)
dir="$CACHE/loadgen-$LOADGEN_SERVER_SDK_GO_VERSION-$key"
bin="$dir/rtcstack-loadgen"

# name height fps bits/s: the layers main.go's `layers` lists (16:9).
clip_layers=("90 15 90000" "180 15 150000" "360 15 500000" "720 25 1500000")
SECONDS_OF_CLIP=10

encode_clips() {
  local out=$1 height fps rate width
  for layer in "${clip_layers[@]}"; do
    read -r height fps rate <<<"$layer"
    width=$((height * 16 / 9))
    local input=(-f lavfi -i "testsrc2=size=${width}x${height}:rate=$fps:duration=$SECONDS_OF_CLIP")
    # VP8 as a WebRTC encoder makes it: real time, constant rate, no alternate reference frames.
    ffmpeg -loglevel error -y "${input[@]}" -c:v libvpx -deadline realtime -cpu-used 8 -threads 1 \
      -b:v "$rate" -minrate "$rate" -maxrate "$rate" -bufsize "$rate" -g $((fps * 3)) -keyint_min $((fps * 3)) \
      -auto-alt-ref 0 -lag-in-frames 0 -error-resilient 1 -f ivf "$out/vp8-$height.ivf"
    # H.264 constrained baseline, one slice per frame, SPS/PPS before every key frame.
    ffmpeg -loglevel error -y "${input[@]}" -c:v libx264 -profile:v baseline -level 3.1 -preset veryfast \
      -tune zerolatency -threads 1 -x264-params "keyint=$((fps * 3)):min-keyint=$((fps * 3)):scenecut=0:repeat-headers=1" \
      -b:v "$rate" -maxrate "$rate" -bufsize "$rate" -pix_fmt yuv420p -f h264 "$out/h264-$height.h264"
  done
  # Opus, 20 ms frames, 32 kbit/s constant: a 400 Hz tone (lk sends a looped clip the same way).
  ffmpeg -loglevel error -y -f lavfi -i "sine=frequency=400:sample_rate=48000:duration=$SECONDS_OF_CLIP" \
    -c:a libopus -b:a 32000 -vbr off -application voip -frame_duration 20 -ac 1 -f ogg "$out/audio.ogg"
}

if [ ! -x "$bin" ]; then
  bash scripts/apt-install.sh build-loadgen ffmpeg
  echo "build-loadgen: building rtcstack-loadgen (server-sdk-go $LOADGEN_SERVER_SDK_GO_VERSION, pion/webrtc $LOADGEN_PION_WEBRTC_VERSION)"
  work=$(mktemp -d)
  trap 'rm -rf "$work" "$dir.tmp"' EXIT
  cp "$src"/*.go "$src/go.mod" "$src/go.sum" "$work/"
  mkdir "$work/clips"
  encode_clips "$work/clips"
  mkdir -p "$dir.tmp"
  (cd "$work" && GOPATH="$CACHE/go" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir.tmp/rtcstack-loadgen" .)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
"$bin" -version >&2
echo "$bin"
