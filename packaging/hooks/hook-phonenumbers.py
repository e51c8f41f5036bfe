"""Replaces the contributed hook, which collects all of phonenumbers (about 40 MB with the
geocoder, carrier and time-zone tables the app never uses): the metadata the app parses
and formats with, which phonenumbers imports by name at run time, and the rest of the
package's code."""

from PyInstaller.utils.hooks import collect_submodules

UNUSED = ("phonenumbers.geodata", "phonenumbers.carrierdata", "phonenumbers.tzdata",
          "phonenumbers.geocoder", "phonenumbers.carrier", "phonenumbers.timezone")

hiddenimports = collect_submodules(
    "phonenumbers", filter=lambda name: not name.startswith(UNUSED)
)
