"""Word lists for realistic, deterministic directory content."""

# Tenant data is hostile input: every generated tenant, however small, holds one user and one group whose
# display names are HTML injections (Entra accepts them), so every page and export is tested against them.
HOSTILE_USER_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_GROUP_NAME = '"><script>alert(1)</script>'

GIVEN = ("Adele Alex Allan Amara Ana Anders Ben Bianca Carlos Chen Christie Dana Debra Diego Elena Emily Enrico "
         "Fatima Grady Hana Henrietta Irvin Isaiah Jana Johanna Joni Jun Kenji Lee Leila Lidia Lynne Maria Megan "
         "Miriam Nestor Nora Olga Omar Patti Pradeep Priya Raul Rosa Sakura Sanjay Sofia Tomas Uma Vera Wei "
         "Yusuf Zara Ingrid Lars Mateo Chloe Noah Liam Aisha Kwame Mei Ivan Elif Hugo Ines").split()
SURNAMES = ("Vance Wilber Brown Smith Garcia Nakamura Gonzalez Patel Kim Muller Rossi Dubois Kowalski Jensen "
            "Okafor Haddad Silva Novak Schmidt Andersson Fischer Moreau Costa Ito Wang Li Chen Ivanova Kaya "
            "Lindqvist Petrov Romero Sato Tanaka Walker Young Zhang Adams Baker Clark Diaz Evans Foster Gray "
            "Hughes Iyer Jones Khan Lopez Martin Nguyen Ortiz Perez Quinn Reyes Singh Turner Usman Varga").split()
DEPARTMENTS = {
    "Sales": ["Account Executive", "Sales Manager", "Sales Development Representative", "Regional Sales Director"],
    "Marketing": ["Marketing Manager", "Content Strategist", "Product Marketing Manager", "SEO Specialist"],
    "Engineering": ["Software Engineer", "Senior Software Engineer", "Engineering Manager", "Site Reliability Engineer"],
    "Finance": ["Accountant", "Financial Analyst", "Controller", "Payroll Specialist"],
    "Human Resources": ["HR Generalist", "Recruiter", "HR Business Partner", "Talent Acquisition Lead"],
    "IT": ["Systems Administrator", "Helpdesk Technician", "IT Manager", "Security Analyst"],
    "Legal": ["Counsel", "Paralegal", "Compliance Officer"],
    "Operations": ["Operations Manager", "Logistics Coordinator", "Facilities Manager", "Buyer"],
    "Customer Support": ["Support Engineer", "Customer Success Manager", "Support Team Lead"],
    "Research": ["Research Scientist", "Data Scientist", "Lab Technician"],
}
OFFICES = [  # city, state, country code, country, postal code, street, phone prefix
    ("Redmond", "WA", "US", "United States", "98052", "1 Microsoft Way", "+1 425 555"),
    ("New York", "NY", "US", "United States", "10001", "11 Times Square", "+1 212 555"),
    ("London", None, "GB", "United Kingdom", "EC1A 1BB", "2 Kingdom Street", "+44 20 7946"),
    ("Munich", "BY", "DE", "Germany", "80807", "Walter-Gropius-Strasse 5", "+49 89 3176"),
    ("Paris", None, "FR", "France", "92130", "39 Quai du President Roosevelt", "+33 1 5700"),
    ("Tokyo", None, "JP", "Japan", "108-0075", "2-16-3 Konan", "+81 3 4332"),
    ("Sydney", "NSW", "AU", "Australia", "2113", "11 Talavera Road", "+61 2 8281"),
    ("Sao Paulo", "SP", "BR", "Brazil", "04711-130", "Av. Nacoes Unidas 12901", "+55 11 5504"),
    ("Bangalore", "KA", "IN", "India", "560071", "Embassy Golf Links", "+91 80 4010"),
    ("Dublin", None, "IE", "Ireland", "D18 P521", "One Microsoft Place", "+353 1 706"),
]
APP_WORDS = ("Payroll Expense Travel Helpdesk CRM Wiki Portal Analytics Backup Reporting Inventory Badge "
             "Onboarding Survey Timesheet Procurement Contracts Learning Chat Monitoring").split()
GROUP_WORDS = ("Project Team Committee Guild Council Squad Program Initiative Working-Group Taskforce").split()
GROUP_TOPICS = ("Apollo Atlas Borealis Cascade Delta Ember Falcon Granite Harbor Iris Juniper Kestrel Lumen "
                "Meridian Nova Orion Pioneer Quartz Redwood Summit Tundra Unity Vertex Willow Zephyr").split()
