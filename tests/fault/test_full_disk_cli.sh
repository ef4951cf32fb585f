#!/usr/bin/env bash
# aigc on a full file system, as a user meets one: a NeRF checkpoint that
# fits a 4 MiB tmpfs, then a larger one that does not over it. The second
# run exits 1 with one error line naming the file, the first checkpoint
# stays byte for byte and no temporary file is left; then a render onto
# the disk filled to the last block stops with a clear line (seconds). Skipped
# (exit 77) where this process cannot mount a tmpfs.
#   test_full_disk_cli.sh path/to/aigc
set -u
aigc=$1
tmp=$(mktemp -d)
mnt=$tmp/mnt
mkdir "$mnt"
if ! mount -t tmpfs -o size=4m tmpfs "$mnt" 2>/dev/null; then
  rm -rf "$tmp"
  echo "SKIPPED: cannot mount a tmpfs here"
  exit 77
fi
trap 'umount "$mnt"; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../cli/cli_lib.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

"$aigc" make-scene solid --out "$tmp/s" --res 16 --views 4,1,1 --aa 1 >/dev/null
train() { # table, then more options
  "$aigc" --device cpu train nerf --scene "$tmp/s" --steps 1 --samples 1024 --rays 64 \
    --table "$@" --out "$mnt/m.safetensors" --quiet
}
train 10 >/dev/null 2>&1
check "a small checkpoint fits" test -s "$mnt/m.safetensors"
cp "$mnt/m.safetensors" "$tmp/previous.safetensors"

out=$(train 16 2>&1 >/dev/null); rc=$?
echo "  $out"
check "a checkpoint that does not fit: exit 1" test $rc -eq 1
check "one error line" test "$(grep -c '^aigc: error: ' <<<"$out")" -eq 1
check "it names the file and the cause" \
  grep -q "m.safetensors.*No space left on device" <<<"$out"
check "the previous checkpoint is intact" cmp -s "$mnt/m.safetensors" "$tmp/previous.safetensors"
check "no temporary file is left" test "$(ls -A "$mnt")" = m.safetensors

# A frame on the disk filled to the last block: one line naming what
# could not be written in the frames' directory, no temporary file.
mkdir "$mnt/frames"
dd if=/dev/zero of="$mnt/fill" bs=4k >/dev/null 2>&1
out=$("$aigc" --device cpu render --checkpoint "$mnt/m.safetensors" --orbit 2 --res 8x8 \
  --out "$mnt/frames" --quiet 2>&1 >/dev/null); rc=$?
echo "  $out"
check "a frame that does not fit: exit 1" test $rc -eq 1
check "one error line" test "$(grep -c '^aigc: error: ' <<<"$out")" -eq 1
check "it names the file in the frames' directory" grep -q "mnt/frames/" <<<"$out"
check "no temporary frame is left" test -z "$(ls "$mnt/frames" | grep '\.tmp\.')"

echo "$fails failure(s)"
exit $((fails > 0))
