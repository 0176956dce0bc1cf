"""Date formats where Django's own locale data leaves a gap (FORMAT_MODULE_PATH): any format not set here is
Django's for that language."""
