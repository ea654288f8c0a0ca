#!/bin/zsh -f
# zsh_capture.zsh FPATH_DIR OUT_DIR LINE: types LINE and a Tab into an interactive zsh
# (in a pseudo-terminal) with FPATH_DIR's completion functions, and writes every match
# zsh offers to OUT_DIR/hits, one per line; OUT_DIR/done appears when zsh is through.
zmodload zsh/zpty || exit 2
dir=$1 out=$2 line=$3
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''; fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D"
# Every match a completion function adds is written to the file, not listed.
zpty -w z 'compadd () { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; local r=$?; (( $#__hits )) && print -l -- $__hits >> '"$out"'/hits; return r }'
zpty -w z 'zstyle ":completion:*" menu no; zstyle ":completion:*" list-prompt ""'
# The Tab runs the completion before zsh reads on; Ctrl-U drops the line, then "done".
zpty -w z "$line"$'\t'
zpty -w z $'\x15'"print done > $out/done"
# Wait (at most 30 s, polled) for zsh to get there.
for i in {1..300}; do
        [[ -e $out/done ]] && break
        sleep 0.1
done
zpty -d z
[[ -e $out/done ]]
