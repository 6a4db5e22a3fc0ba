# btfwatch guard for dnf (dnf 4 plugin API): written by `btfwatch guard --install dnf`, removed by
# `btfwatch guard --uninstall dnf`.
#
# Before rpm installs anything (pre_transaction: packages downloaded, transaction test passed), btfwatch
# reads what the transaction would install for the running kernel's release and predicts what the booted
# kernel does with those modules. Exit status 1 means a module would fail to load (or load wrong BTF):
# the transaction stops. Any other failure to run the check is reported and does not block.
import logging
import subprocess

import dnf
import dnf.exceptions

# The btfwatch command, as `btfwatch guard --install dnf` was run (JSON list of strings).
COMMAND = @@COMMAND@@

logger = logging.getLogger('dnf')


class BtfwatchGuard(dnf.Plugin):
    name = 'btfwatch_guard'

    def pre_transaction(self):
        files = sorted(pkg.localPkg() for pkg in self.base.transaction.install_set)
        if not files:
            return
        try:
            result = subprocess.run(COMMAND + ['--dnf-hook', '--'] + files)
        except OSError as err:
            logger.warning('btfwatch guard could not run (%s); not blocking', err)
            return
        if result.returncode == 1:
            raise dnf.exceptions.Error(
                'btfwatch guard refused this transaction (see above); to go ahead anyway: '
                'BTFWATCH_GUARD_FORCE=1 dnf ..., or dnf --disableplugin=btfwatch_guard ...')
        if result.returncode != 0:
            logger.warning('btfwatch guard could not judge (exit status %d); not blocking',
                           result.returncode)
