# bash completion for vmlaunch(1).
#
# One table per fact: _vmlaunch_opts holds each verb's options (an option that takes a
# value ends in '='), _vmlaunch_word what its word is:
#   def      a VM name from the config dir, or a .ini file
#   running  a running VM (its run dir under the runtime dir)
#   xml      a libvirt domain's XML file, or -
#   none     nothing
# A new verb is one line in each table.

declare -gA _vmlaunch_opts=(
        [run]="--help --config-dir= --allow-unsafe-owner"
        [plan]="--help --json --brief --topology= --config-dir= --allow-unsafe-owner"
        [check]="--help --json --config-dir= --allow-unsafe-owner"
        [restore]="--help"
        [status]="--help --json"
        [stop]="--help --force --timeout="
        [qmp]="--help"
        [guest]="--help --timeout="
        [topology]="--help --topology= --synthetic= --suggest= --iothreads= --json --check= --config-dir= --allow-unsafe-owner"
        [start]="--help --no-block --json --timeout="
        [events]="--help --json"
        [wait]="--help --for= --timeout= --json"
        [list]="--help --json --config-dir="
        [wake]="--help --mac= --exit-idle-time= --config-dir= --allow-unsafe-owner"
        [import-libvirt]="--help --name= --hooks="
)
declare -gA _vmlaunch_word=(
        [run]=def [plan]=def [check]=def [restore]=def [start]=def
        [status]=running [stop]=running [qmp]=running [guest]=running
        [events]=running [wait]=running
        [topology]=none [list]=none [wake]=none [import-libvirt]=xml
)
# The conditions of `vmlaunch wait --for`.
_vmlaunch_conditions="running stopped agent ready tcp:"

# VM names: NAME.ini in --config-dir, $VMLAUNCH_CONFIG_DIR or /etc/vmlaunch.
_vmlaunch_defs()
{
        local dir=$1 f
        for f in "$dir"/*.ini; do
                [ -e "$f" ] || continue
                f=${f##*/}
                printf '%s\n' "${f%.ini}"
        done
}

# Running VMs: the run dirs under $VMLAUNCH_RUNTIME_DIR or /run/vmlaunch (a run dir
# lives while its vmlaunch does, or until `restore`).
_vmlaunch_running()
{
        local root=${VMLAUNCH_RUNTIME_DIR:-/run/vmlaunch} d
        for d in "$root"/*/; do
                [ -d "$d" ] || continue
                d=${d%/}
                printf '%s\n' "${d##*/}"
        done
}

_vmlaunch()
{
        local cur prev words cword
        if declare -F _init_completion >/dev/null; then
                _init_completion -n = || return
        else
                cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
                words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        fi
        # The verb: the first word after vmlaunch's own options.
        local i verb= config_dir=${VMLAUNCH_CONFIG_DIR:-/etc/vmlaunch}
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                --config-dir=*) config_dir=${words[i]#--config-dir=} ;;
                --config-dir) config_dir=${words[i + 1]} ;;
                -*) ;;
                *) [ -z "$verb" ] && verb=${words[i]} ;;
                esac
        done
        if [ -z "$verb" ]; then
                local verbs=${!_vmlaunch_opts[*]}
                # `vmlaunch NAME` runs NAME too.
                COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur")
                        $(compgen -W "$(_vmlaunch_defs "$config_dir")" -- "$cur"))
                return
        fi
        [ -n "${_vmlaunch_opts[$verb]+x}" ] || return
        # An option's value: --opt=VALUE (one word with bash-completion's
        # _init_completion -n =; "--opt" "=" "VALUE" without it), or --opt VALUE.
        local opt= value=$cur
        if [[ $cur == --*=* ]]; then
                opt=${cur%%=*} value=${cur#*=}
        elif [[ $cur == = ]]; then
                opt=$prev value=
        elif [[ $prev == = && $cword -ge 2 ]]; then
                opt=${words[cword - 2]}
        elif [[ $prev == --* && " ${_vmlaunch_opts[$verb]} " == *" $prev= "* ]]; then
                opt=$prev
        fi
        if [ -n "$opt" ]; then
                case $opt in
                --for)
                        COMPREPLY=($(compgen -W "$_vmlaunch_conditions" -- "$value"))
                        # tcp: wants its HOST:PORT right after it
                        [[ ${COMPREPLY[*]} == tcp: ]] && compopt -o nospace 2>/dev/null
                        ;;
                --config-dir | --hooks) COMPREPLY=($(compgen -d -- "$value")) ;;
                --topology) COMPREPLY=($(compgen -f -- "$value")) ;;
                --check) COMPREPLY=($(compgen -W "$(_vmlaunch_defs "$config_dir")" -- "$value")
                        $(compgen -f -X '!*.ini' -- "$value")) ;;
                esac
                return
        fi
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "${_vmlaunch_opts[$verb]}" -- "$cur"))
                # An option that takes a value is completed with its '=' and no space.
                [[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
                return
        fi
        case ${_vmlaunch_word[$verb]} in
        def) COMPREPLY=($(compgen -W "$(_vmlaunch_defs "$config_dir")" -- "$cur")
                $(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -S / -- "$cur")) ;;
        running) COMPREPLY=($(compgen -W "$(_vmlaunch_running)" -- "$cur")) ;;
        xml) COMPREPLY=($(compgen -W "-" -- "$cur") $(compgen -f -X '!*.xml' -- "$cur")
                $(compgen -d -S / -- "$cur")) ;;
        esac
}
complete -F _vmlaunch vmlaunch
