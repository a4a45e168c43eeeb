"""One config entry per fixture domain, created by the YAML import."""

from homeassistant import config_entries

from . import DOMAIN


class LabFixtureFlow(config_entries.ConfigFlow, domain=DOMAIN):
    VERSION = 1

    async def async_step_import(self, data=None):
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=DOMAIN.replace("_", " ").title(), data={})

    async def async_step_user(self, user_input=None):
        return await self.async_step_import(user_input)
