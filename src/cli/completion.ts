import { commandNames } from './args.js';

/** Shell completion scripts: commands, then flags; names of objects are left to the shell. */
const commands = commandNames.join(' ');
const flags =
  '--kubeconfig --context --namespace -n --all-namespaces -A --output -o --help -h --all --operator-namespace';

export function completion(shell: 'bash' | 'zsh'): string {
  const bash = `_kubectl_certroute() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands}" -- "$cur") )
  elif [ "\${COMP_WORDS[1]}" = completion ]; then
    COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") )
  elif [ "\${COMP_WORDS[1]}" = inspect ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=( $(compgen -W "secret" -- "$cur") )
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${flags}" -- "$cur") )
  fi
}
complete -F _kubectl_certroute kubectl-certroute certroute`;
  if (shell === 'bash') return bash;
  return `#compdef kubectl-certroute certroute
autoload -U bashcompinit && bashcompinit
${bash}`;
}
