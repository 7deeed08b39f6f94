#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (Debian: slurm-wlm + munge), for running
# the workflow's cluster profile (profiles/slurm) for real. Run as root:
#
#   sudo scripts/slurm/setup_single_node.sh
#
# Installs the packages (apt-get; `apt-get update` only if the package lists are
# stale), writes /etc/slurm/slurm.conf for this host (its short hostname as both
# the controller and the only node, CPUs from nproc, RealMemory 5% under the
# machine's, proctrack/linuxproc and task/none so no cgroups are needed,
# select/cons_tres with CR_Core_Memory, SlurmUser=root, no accounting database),
# starts munged, slurmctld and slurmd without systemd, and waits until `sinfo`
# shows the node ready. Idempotent: a second run with everything up changes
# nothing and returns within a second or two; a changed slurm.conf restarts the
# daemons (by their pid files).
#
# Without accounting, `sacct` does not work: job status comes from `scontrol show
# job` (scripts/slurm/status.py), which forgets a finished job after MinJobAge
# (300 s) -- see docs/scaling.md.
set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
    echo "setup_single_node.sh: run as root (it installs packages and starts daemons)" >&2
    exit 1
fi

HOST=$(hostname -s)
CONF=/etc/slurm/slurm.conf
PARTITION=main
STATE_DIR=/var/lib/slurm
LOG_DIR=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid

log() { echo "[slurm-setup] $*"; }

installed() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || return 1
    done
}

install_packages() {
    local packages=(slurm-wlm munge)
    if installed "${packages[@]}"; then
        log "packages already installed: ${packages[*]}"
        return
    fi
    local started=${SECONDS}
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${packages[@]}"; then
        log "install failed with the current package lists; running apt-get update"
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${packages[@]}"
    fi
    log "installed ${packages[*]} in $((SECONDS - started)) s"
}

running() {  # running PIDFILE: the daemon named in the pid file is alive
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop() {  # stop PIDFILE NAME: signal the daemon of this pid file and wait for it
    running "$1" || return 0
    log "stopping $2 (pid $(cat "$1"))"
    kill "$(cat "$1")"
    for _ in $(seq 50); do
        running "$1" || return 0
        sleep 0.2
    done
    echo "setup_single_node.sh: $2 did not stop" >&2
    exit 1
}

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        log "munged already running"
        return
    fi
    runuser -u munge -- /usr/sbin/munged
    munge -n </dev/null | unmunge >/dev/null
    log "munged started"
}

write_config() {  # prints "changed" when slurm.conf was (re)written
    local cpus mem_mb tmp
    cpus=$(nproc)
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.95}' /proc/meminfo)
    tmp=$(mktemp)
    cat >"${tmp}" <<EOF
# Written by scripts/slurm/setup_single_node.sh: a one-node cluster on ${HOST}.
ClusterName=consortia
SlurmctldHost=${HOST}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=300
StateSaveLocation=${STATE_DIR}/slurmctld
SlurmdSpoolDir=${STATE_DIR}/slurmd
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=${HOST} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -f ${CONF} ]] && cmp -s "${tmp}" "${CONF}"; then
        rm -f "${tmp}"
        return
    fi
    install -D -m 0644 "${tmp}" "${CONF}"
    rm -f "${tmp}"
    log "wrote ${CONF} (NodeName=${HOST} CPUs=${cpus} RealMemory=${mem_mb})"
    echo changed
}

node_state() {
    sinfo --noheader --nodes="${HOST}" --format=%T 2>/dev/null | head -n 1
}

wait_until_ready() {
    local state resumed=0
    for _ in $(seq 120); do
        state=$(node_state || true)
        case ${state} in
            idle | mixed | allocated | completing)
                log "node ${HOST} is ${state}"
                return
                ;;
            down* | drain* | fail*)
                if [[ ${resumed} -eq 0 ]]; then
                    log "node ${HOST} is ${state}: resuming it"
                    scontrol update NodeName="${HOST}" State=RESUME || true
                    resumed=1
                fi
                ;;
        esac
        sleep 0.5
    done
    echo "setup_single_node.sh: node ${HOST} not ready after 60 s (state: ${state:-unknown});" \
        "see ${LOG_DIR}/slurmctld.log and ${LOG_DIR}/slurmd.log" >&2
    exit 1
}

install_packages
start_munge
install -d -m 0755 "${STATE_DIR}/slurmctld" "${STATE_DIR}/slurmd" "${LOG_DIR}"
if [[ $(write_config) == changed ]]; then
    stop "${SLURMD_PID}" slurmd
    stop "${CTLD_PID}" slurmctld
fi
if ! running "${CTLD_PID}"; then
    slurmctld
    log "slurmctld started"
fi
if ! running "${SLURMD_PID}"; then
    slurmd
    log "slurmd started"
fi
wait_until_ready
