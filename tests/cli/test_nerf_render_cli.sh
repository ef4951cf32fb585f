#!/usr/bin/env bash
# aigc train nerf, eval nerf and render from the command line:
#   test_nerf_render_cli.sh path/to/aigc [--mpi path/to/mpirun]
# A tiny scene trained briefly and saved; a training run killed after a
# checkpoint and resumed ends with the bytes of an uninterrupted one (and
# a finished one refuses to resume); eval reports PSNR and SSIM; an
# orbit rendered whole, and rendered again in two parts (an interrupted
# job resumed) to the same bytes, with a manifest; a job file of two
# renders; export-mesh writes a coloured PLY of the model; bad scenes,
# cameras, job files, checkpoints and mesh options each give one clear line
# and a non-zero exit, nothing written (about 30 s). With --mpi, the orbit on 2 ranks gives the bytes of
# 1 rank.
set -u
aigc=$1 mode=${2:-} mpirun=${3:-mpirun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

"$aigc" make-scene solid --out "$tmp/s" --res 24 --views 16,1,2 --aa 2 >/dev/null
ckpt=$tmp/m.safetensors
out=$("$aigc" --device cpu train nerf --scene "$tmp/s" --steps 120 --samples 4096 --rays 1024 \
  --table 13 --out "$ckpt" --quiet 2>&1); rc=$?
echo "$out"
check "train nerf exits 0" test $rc -eq 0
check "it reports a val PSNR" grep -q "val PSNR: *[0-9]" <<<"$out"
check "the checkpoint is written" test -s "$ckpt"

train() { "$aigc" --device cpu train nerf --scene "$tmp/s" --steps 200 --samples 4096 --rays 1024 \
  --table 13 --quiet "$@"; }
train --out "$tmp/once.safetensors" >/dev/null 2>&1
train --save-every 25 --out "$tmp/killed.safetensors" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e "$tmp/killed.safetensors" ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
out=$(train --save-every 25 --out "$tmp/killed.safetensors" --resume "$tmp/killed.safetensors" 2>&1)
rc=$?
echo "$out"
check "a killed training run resumes" test $rc -eq 0
check "it says where it resumed" grep -q "^resumed: *at step [0-9]" <<<"$out"
check "resumed, it ends with an uninterrupted run's bytes" \
  cmp "$tmp/once.safetensors" "$tmp/killed.safetensors"
expect_error "a finished run" "has done 200 steps already" \
  --device cpu train nerf --scene "$tmp/s" --steps 200 --table 13 --resume "$tmp/once.safetensors" \
  --out "$tmp/more.safetensors"
expect_error "another model config" "another config" \
  --device cpu train nerf --scene "$tmp/s" --steps 300 --table 14 --resume "$tmp/once.safetensors" \
  --out "$tmp/more.safetensors"

out=$("$aigc" --device cpu eval nerf --checkpoint "$ckpt" --scene "$tmp/s" 2>&1); rc=$?
echo "$out"
check "eval nerf exits 0" test $rc -eq 0
check "eval reports PSNR" grep -q "^PSNR: *[0-9.]* dB" <<<"$out"
check "eval reports SSIM" grep -q "^SSIM: *0\.[0-9]*" <<<"$out"

render() { "$aigc" --device cpu render --checkpoint "$ckpt" --orbit 4 --res 16x12 --quiet "$@"; }

if [ "$mode" = "--mpi" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  mkdir "$tmp/one" "$tmp/two"
  render --out "$tmp/one" >/dev/null
  out=$("$mpirun" -np 2 --oversubscribe "$aigc" --device cpu render --checkpoint "$ckpt" \
    --orbit 4 --res 16x12 --quiet --out "$tmp/two" 2>&1); rc=$?
  echo "$out"
  check "2 ranks exit 0" test $rc -eq 0
  check "the manifest says 2 ranks" grep -q '"ranks": 2' "$tmp/two/manifest.json"
  for f in 0 1 2 3; do
    check "frame $f: 2 ranks give 1 rank's bytes" cmp "$tmp/one/frame_000$f.png" "$tmp/two/frame_000$f.png"
  done
  echo "$fails failure(s)"
  exit $((fails > 0))
fi

mkdir "$tmp/whole" "$tmp/parts"
out=$(render --out "$tmp/whole" --depth 2>&1); rc=$?
echo "$out"
check "render exits 0" test $rc -eq 0
check "four frames and their depth" test -s "$tmp/whole/frame_0003.png" -a -s "$tmp/whole/depth_0003.png"
check "a manifest with rays/s" grep -q '"rays_per_s"' "$tmp/whole/manifest.json"
check "no temporary files left" test -z "$(find "$tmp/whole" -name '*.tmp*')"
render --out "$tmp/parts" --frames 0:2 >/dev/null
check "a range renders only its frames" test ! -e "$tmp/parts/frame_0002.png"
out=$(render --out "$tmp/parts" 2>&1)
check "the rest of the job keeps the frames done" grep -q "2 frames (2 kept from before)" <<<"$out"
for f in 0 1 2 3; do
  check "frame $f: resumed job, same bytes" cmp "$tmp/whole/frame_000$f.png" "$tmp/parts/frame_000$f.png"
done

# A job file of two renders (paths relative to it): the orbit's bytes again,
# and the scene's test cameras with depth.
mkdir -p "$tmp/job/orbit" "$tmp/job/test"
printf '{"jobs": [
  {"checkpoint": "../m.safetensors", "orbit": 4, "res": "16x12", "out": "orbit", "frames": "1:3"},
  {"checkpoint": "%s", "cameras": "../s/transforms_test.json", "out": "test", "depth": true}
]}\n' "$ckpt" >"$tmp/job/jobs.json"
out=$("$aigc" --device cpu render --job "$tmp/job/jobs.json" --quiet 2>&1); rc=$?
echo "$out"
check "a job file renders" test $rc -eq 0
check "each of its renders reports" test "$(grep -c "^rendered:" <<<"$out")" -eq 2
for f in 1 2; do
  check "job frame $f: the orbit's bytes" cmp "$tmp/whole/frame_000$f.png" "$tmp/job/orbit/frame_000$f.png"
done
check "only the job's range" test ! -e "$tmp/job/orbit/frame_0000.png"
check "the second render, with depth" test -s "$tmp/job/test/frame_0001.png" -a -s "$tmp/job/test/depth_0001.png"
printf '{"jobs": [{"checkpoint": "m", "orbit": 2, "out": "o"}, {"checkpoint": "m", "out": "o", "dpeth": true}]}' \
  >"$tmp/job/typo.json"
expect_error "a job file with an unknown field" "typo.json: job 1: unknown field 'dpeth'" \
  --device cpu render --job "$tmp/job/typo.json"
check "a bad job file renders nothing" test ! -e "$tmp/job/o"
printf '{"jobs": [{"checkpoint": "m", "orbit": "2", "out": "o"}]}' >"$tmp/job/type.json"
expect_error "a job field of the wrong type" "type.json: job 0: 'orbit' must be a number" \
  --device cpu render --job "$tmp/job/type.json"
expect_error "a job file that is not JSON" "not JSON" --device cpu render --job "$ckpt"

# Bad inputs.
cp -r "$tmp/s" "$tmp/holes"
rm "$tmp/holes/train/r_3.png"
expect_error "a scene with a missing image" "transforms_train.json: frame 3: ./train/r_3.png" \
  --device cpu train nerf --scene "$tmp/holes" --steps 1 --out "$tmp/h.safetensors"
check "no checkpoint from a bad scene" test ! -e "$tmp/h.safetensors"
printf '{"camera_angle_x": 0.7, "w": 8, "h": 8, "frames": [{"transform_matrix": [[1, 0, 0]]}]}' \
  >"$tmp/cams.json"
expect_error "a camera file with a bad matrix" "cams.json: frame 0: transform_matrix" \
  --device cpu render --checkpoint "$ckpt" --cameras "$tmp/cams.json" --out "$tmp/whole"
printf '{"w": 8, "h": 8, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]}]}' \
  >"$tmp/nofocal.json"
expect_error "a camera file without a focal length" "camera_angle_x" \
  --device cpu render --checkpoint "$ckpt" --cameras "$tmp/nofocal.json" --out "$tmp/whole"
write_safetensors "$tmp/gpt.safetensors" \
  '{"__metadata__":{"aigc.model":"gpt","aigc.config":"{}"}}' 0
mkdir "$tmp/none"
expect_error "a GPT checkpoint" "a 'gpt' checkpoint, not a nerf checkpoint" \
  --device cpu render --checkpoint "$tmp/gpt.safetensors" --orbit 2 --out "$tmp/none"
check "no frames from a bad checkpoint" test -z "$(ls "$tmp/none")"
expect_usage "both cameras and an orbit" "one of --cameras FILE and --orbit N" \
  render --checkpoint "$ckpt" --orbit 2 --cameras "$tmp/cams.json" --out "$tmp/none"
expect_usage "a bad range" "--frames '3:1'" render --orbit 4 --frames 3:1 --out "$tmp/none"
expect_usage "a bad size" "--res '16'" render --orbit 4 --res 16 --out "$tmp/none"
expect_usage "train without a scene" "--scene DIR is required" train nerf --steps 1

# export-mesh: the tiny model's surface as a binary PLY whose size is its
# header's counts (at Instant-NGP's density 2.5: after 120 steps little of
# it reaches the default 10); bad checkpoints and lattices.
out=$("$aigc" --device cpu export-mesh --checkpoint "$ckpt" --out "$tmp/mesh.ply" --res 32 \
  --threshold 2.5 2>&1); rc=$?
echo "$out"
check "export-mesh exits 0" test $rc -eq 0
check "it reports vertices and triangles" grep -q "^mesh: *[0-9]* vertices, [0-9]* triangles" <<<"$out"
header=$(head -c 1024 "$tmp/mesh.ply" | sed '/^end_header$/q')
verts=$(sed -n 's/^element vertex //p' <<<"$header") faces=$(sed -n 's/^element face //p' <<<"$header")
check "the PLY has faces" test "${faces:-0}" -gt 0
check "vertices with colours" grep -q "^property uchar blue$" <<<"$header"
check "the PLY's size is its counts'" \
  test "$(stat -c %s "$tmp/mesh.ply")" -eq $((${#header} + 1 + 15 * verts + 13 * faces))
check "no temporary mesh left" test -z "$(find "$tmp" -maxdepth 1 -name 'mesh.ply.tmp*')"
expect_error "a missing checkpoint" "$tmp/absent.safetensors" \
  export-mesh --checkpoint "$tmp/absent.safetensors" --out "$tmp/none.ply"
expect_error "a GPT checkpoint as a mesh" "a 'gpt' checkpoint, not a nerf checkpoint" \
  export-mesh --checkpoint "$tmp/gpt.safetensors" --out "$tmp/none.ply"
check "no mesh from a bad checkpoint" test ! -e "$tmp/none.ply"
expect_usage "a lattice of 1" "--res '1'" export-mesh --checkpoint "$ckpt" --out "$tmp/none.ply" --res 1
expect_usage "a lattice of garbage" "--res 'many'" \
  export-mesh --checkpoint "$ckpt" --out "$tmp/none.ply" --res many
expect_usage "a negative threshold" "--threshold '-1'" \
  export-mesh --checkpoint "$ckpt" --out "$tmp/none.ply" --threshold=-1
expect_usage "export-mesh without --out" "--out FILE is required" export-mesh --checkpoint "$ckpt"

echo "$fails failure(s)"
exit $((fails > 0))
