"""WSGI entry point for gunicorn: privacyIDEA's production app from PRIVACYIDEA_CONFIGFILE."""
import os

from privacyidea.app import create_app

application = create_app(
    config_name="production", config_file=os.environ["PRIVACYIDEA_CONFIGFILE"], silent=True
)
