#!/usr/bin/env bash
# Submit command of the cluster-generic executor (profiles/slurm): submit one
# Snakemake job script to SLURM and print the SLURM job id.
#
#   submit.sh [sbatch options...] JOBSCRIPT
#
# The job runs the script and then writes its exit code to
# $CONSORTIA_SLURM_DIR/<jobid>.exit (default .snakemake/slurm, relative to the
# workflow directory), its output to <jobid>.out, and the submission is recorded
# in submitted.tsv (job id, job script). scripts/slurm/status.py reads the exit
# file once `scontrol` has forgotten the job (MinJobAge).
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: submit.sh [sbatch options...] JOBSCRIPT" >&2
    exit 2
fi
jobscript=${!#}
options=("${@:1:$#-1}")
state_dir=${CONSORTIA_SLURM_DIR:-.snakemake/slurm}
mkdir -p "${state_dir}"
state_dir=$(cd "${state_dir}" && pwd)

# $SLURM_JOB_ID is expanded inside the job, the paths here.
wrapped="sh $(printf %q "${jobscript}"); rc=\$?; echo \$rc > $(printf %q "${state_dir}")/\$SLURM_JOB_ID.exit; exit \$rc"
reply=$(sbatch --parsable --output="${state_dir}/%j.out" "${options[@]}" --wrap "${wrapped}")
jobid=${reply%%;*}  # --parsable prints "id" or "id;cluster"
# An exit file of this id can only be stale (a cluster whose job ids restarted); the
# job needs seconds to start Snakemake before it writes its own.
rm -f "${state_dir}/${jobid}.exit"
printf '%s\t%s\n' "${jobid}" "${jobscript}" >>"${state_dir}/submitted.tsv"
echo "${jobid}"
