"""An L3 service plugin that marks an associated floating IP ACTIVE: no L3 agent runs here."""

from neutron.services.l3_router import l3_router_plugin
from neutron_lib import constants


def _status(fip):
    return constants.FLOATINGIP_STATUS_ACTIVE if fip.get('port_id') else constants.FLOATINGIP_STATUS_DOWN


class ActiveFloatingIPL3Plugin(l3_router_plugin.L3RouterPlugin):
    """The stock L3 plugin, with floating IP status following the association."""

    def _settle(self, context, fip):
        status = _status(fip)
        if fip.get('status') != status:
            self.update_floatingip_status(context, fip['id'], status)
            fip['status'] = status
        return fip

    def create_floatingip(self, context, floatingip):
        fip = super().create_floatingip(context, floatingip)
        return self._settle(context, fip)

    def update_floatingip(self, context, id, floatingip):  # pylint: disable=redefined-builtin
        fip = super().update_floatingip(context, id, floatingip)
        return self._settle(context, fip)
