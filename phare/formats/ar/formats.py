# Django's Arabic locale sets no date-and-time formats, so a time stamp fell back to the American
# "مارس 4, 2026, 9:05 ص". These follow its own DATE_FORMAT, SHORT_DATE_FORMAT and TIME_FORMAT.
DATETIME_FORMAT = "j F، Y، g:i A"
SHORT_DATETIME_FORMAT = "d‏/m‏/Y g:i A"
