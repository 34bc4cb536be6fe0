# Chinese dates as 2026年11月26日 (Django's defaults), month-day without a leading zero.
MONTH_DAY_FORMAT = "n月j日"
FIRST_DAY_OF_WEEK = 1
