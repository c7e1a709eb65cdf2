"""The monthly assessment report (月度考核报表): figures from the database, PDF and XLSX.

async with db.session() as session:
    report = await monthly_report(session, config, 2026, 11, town="dongcheng")
write_pdf(report, Path("report.pdf")); write_xlsx(report, Path("report.xlsx"))
"""

from .monthly import (
    DIRECT_GROUP,
    MONTH_PATTERN,
    Figures,
    MonthlyReport,
    SchoolRow,
    TownRow,
    monthly_report,
    parse_month,
)
from .pdf import ReportFontMissing, write_pdf
from .xlsx import write_xlsx

__all__ = [
    "DIRECT_GROUP",
    "MONTH_PATTERN",
    "Figures",
    "MonthlyReport",
    "ReportFontMissing",
    "SchoolRow",
    "TownRow",
    "monthly_report",
    "parse_month",
    "write_pdf",
    "write_xlsx",
]
