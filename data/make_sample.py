#!/usr/bin/env python3
"""Writes data/sample-catalog.jsonl, the sample catalog bundled with catalogd.

Every organization, course and person in it is fictional.  The output is
deterministic (a fixed seed, uuids derived from keys with uuid5), so running
this again gives the same file byte for byte:

    python3 data/make_sample.py > data/sample-catalog.jsonl
"""
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

NS = uuid.UUID("6f1c2a52-4d0e-4b8e-9a53-2f7d3c1e8b10")
rng = random.Random(20261123)


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


def iso(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


# key, name, country currency, homepage host, description
ORGS = [
    ("AldenX", "Alden University", "USD", "alden.example.edu",
     "Alden University is a private research university founded in 1868 on the shores of Lake Alden. "
     "Its open courses share the teaching of its schools of engineering, sciences and humanities."),
    ("KestrelTech", "Kestrel Institute of Technology", "USD", "kestrel.example.edu",
     "The Kestrel Institute of Technology trains engineers and computer scientists through project-based "
     "study. Its online courses are taught by the same faculty who teach on campus."),
    ("MarlowU", "University of Marlow", "GBP", "marlow.example.ac.uk",
     "The University of Marlow is a collegiate university known for economics, history and the life "
     "sciences. It has offered courses to learners outside its walls since its extension lectures of 1891."),
    ("RhineValleyX", "Rhine Valley Polytechnic", "EUR", "rvp.example.de",
     "Rhine Valley Polytechnic is a university of applied sciences with close ties to regional industry. "
     "Its courses focus on engineering, energy and manufacturing."),
    ("SaffronIIS", "Saffron Institute of Information Science", "INR", "saffron.example.ac.in",
     "The Saffron Institute of Information Science is a public institute devoted to computing, data and "
     "mathematics. Its online programmes reach learners in every state of the country."),
    ("BrightwaterX", "Brightwater College of Arts and Sciences", "USD", "brightwater.example.edu",
     "Brightwater College is a small liberal arts college where every course is built around discussion "
     "and writing. Its online offerings cover history, languages and the environment."),
    ("LumenParisX", "Institut Lumen Paris", "EUR", "lumen.example.fr",
     "Institut Lumen Paris is a graduate school of physics, chemistry and biology. Its courses bring "
     "laboratory research to learners through experiments that can be done at home."),
    ("NordfjordX", "Nordfjord School of Economics", "EUR", "nse.example.no",
     "The Nordfjord School of Economics teaches economics, finance and management with a focus on "
     "sustainable business. Its executive courses are taken by professionals in forty countries."),
]

SUBJECTS = [
    ("computer-science", "Computer Science", "Programs, algorithms and the machines that run them",
     "Courses on programming, algorithms, systems and the theory of computation."),
    ("data-science", "Data Science", "Learning from data",
     "Statistics, machine learning and the tools used to collect, clean and analyse data."),
    ("mathematics", "Mathematics", "The language of science",
     "Calculus, algebra, probability and the proofs behind them."),
    ("physics", "Physics", "How the universe works",
     "Mechanics, electromagnetism, quantum physics and astrophysics."),
    ("biology", "Biology & Life Sciences", "The science of living things",
     "Genetics, cell biology, ecology and the study of human health."),
    ("economics-finance", "Economics & Finance", "Markets, money and policy",
     "Micro- and macroeconomics, financial markets, accounting and public policy."),
    ("business-management", "Business & Management", "Leading organizations",
     "Strategy, marketing, operations, entrepreneurship and leadership."),
    ("history", "History", "Understanding the past",
     "World, regional and economic history, and how historians work with sources."),
    ("language", "Language", "Speak, read and write",
     "Courses in languages and linguistics for beginners and advanced learners."),
    ("engineering", "Engineering", "Designing and building",
     "Mechanical, electrical, civil and energy engineering."),
    ("environmental-science", "Environmental Science", "Our planet and its climate",
     "Climate science, ecology, sustainability and environmental policy."),
]

# org, number, title, subjects, level, description (2-4 sentences)
COURSES = [
    ("AldenX", "CS101", "Introduction to Computer Science and Programming", ["computer-science"], "Introductory",
     "Learn to think like a programmer. This course teaches the basics of Python through small puzzles and games, and introduces the ideas of abstraction, recursion and testing. No prior experience is needed."),
    ("AldenX", "CS210", "Data Structures and Algorithms", ["computer-science"], "Intermediate",
     "Lists, trees, heaps, hash tables and graphs: how they work and when to use each. You will analyse the running time of algorithms and implement them in Python. Weekly problem sets build toward a route-planning project."),
    ("AldenX", "MATH120", "Single-Variable Calculus", ["mathematics"], "Introductory",
     "Limits, derivatives and integrals, with applications to motion, growth and optimization. Each unit pairs short video lectures with worked examples and practice problems."),
    ("AldenX", "PHYS150", "Classical Mechanics", ["physics"], "Intermediate",
     "Newton's laws, energy, momentum and rotation, developed from first principles. Problems range from falling objects to planetary orbits. Calculus is used throughout."),
    ("AldenX", "HIST230", "The Atlantic World, 1500-1800", ["history"], "Intermediate",
     "Explore how trade, migration and empire connected Europe, Africa and the Americas. Using letters, ship logs and maps, you will learn how historians reconstruct lives from fragmentary sources."),
    ("AldenX", "ENV110", "Climate Change: The Science and the Choices", ["environmental-science", "physics"], "Introductory",
     "What we know about the climate system and how we know it. The course covers the greenhouse effect, climate models and the evidence from ice cores, then turns to the choices societies face in adapting and reducing emissions."),
    ("AldenX", "DS200", "Statistical Thinking for Data Science", ["data-science", "mathematics"], "Intermediate",
     "Sampling, estimation, hypothesis tests and regression, taught with real data sets. You will learn to question a result before trusting it and to explain uncertainty to others."),
    ("AldenX", "BIO101", "Foundations of Modern Biology", ["biology"], "Introductory",
     "Cells, genes and evolution: the three ideas that organize the life sciences. Interactive simulations let you run virtual experiments on inheritance and natural selection."),
    ("KestrelTech", "6.01x", "Programming in C", ["computer-science"], "Introductory",
     "Write programs close to the machine. You will learn C's types, pointers and memory management, and use a debugger to find out what your program really does. The final project is a small text-adventure engine."),
    ("KestrelTech", "6.04x", "Computer Systems: From Gates to Operating Systems", ["computer-science", "engineering"], "Intermediate",
     "Follow a program from logic gates through the processor, memory hierarchy and operating system. Labs have you build a simple CPU in a simulator and write parts of a small kernel."),
    ("KestrelTech", "6.10x", "Machine Learning with Python", ["data-science", "computer-science"], "Advanced",
     "Linear models, neural networks, decision trees and clustering, implemented from scratch before you use the libraries. Projects cover image classification and recommendation. Comfort with linear algebra and probability is expected."),
    ("KestrelTech", "2.03x", "Robotics: Kinematics and Control", ["engineering"], "Advanced",
     "Model robot arms and mobile robots, plan their motion and design controllers that keep them on course. Simulated labs let you tune controllers and watch the effect immediately."),
    ("KestrelTech", "18.06x", "Linear Algebra", ["mathematics"], "Intermediate",
     "Vectors, matrices, eigenvalues and the singular value decomposition, with an eye to applications in graphics, networks and data. Each week ends with a short programming exercise."),
    ("KestrelTech", "6.20x", "Introduction to Cybersecurity", ["computer-science"], "Introductory",
     "How attackers break into systems and how defenders keep them out. Topics include passwords, encryption, web vulnerabilities and social engineering, with hands-on capture-the-flag exercises."),
    ("KestrelTech", "8.02x", "Electricity and Magnetism", ["physics"], "Intermediate",
     "Electric fields, circuits, magnetism and electromagnetic waves. Desktop experiments and simulations accompany every unit."),
    ("KestrelTech", "15.39x", "Supply Chain Fundamentals", ["business-management", "engineering"], "Introductory",
     "How goods get from raw materials to customers, and how companies plan for uncertainty along the way. You will build simple forecasting and inventory models in a spreadsheet."),
    ("MarlowU", "ECON101", "Principles of Microeconomics", ["economics-finance"], "Introductory",
     "Why prices rise and fall, how firms decide what to produce and when markets fail. Short case studies apply each idea to housing, energy and health care."),
    ("MarlowU", "ECON202", "Macroeconomics and Public Policy", ["economics-finance"], "Intermediate",
     "Growth, unemployment, inflation and the tools governments use to manage them. You will read central bank reports and assess policy debates with simple models."),
    ("MarlowU", "HIST110", "Medieval Europe: Kingdoms, Church and Town", ["history"], "Introductory",
     "From the fall of Rome to the Black Death, trace how power, faith and trade shaped European life. Primary sources in translation are read alongside short lectures."),
    ("MarlowU", "HIST315", "The Industrial Revolution in Britain", ["history", "economics-finance"], "Intermediate",
     "Why did industrialization begin in Britain, and who gained and lost from it? The course combines economic data with diaries and parliamentary reports."),
    ("MarlowU", "BIO210", "Genetics and Genomics", ["biology"], "Intermediate",
     "From Mendel's peas to genome sequencing. Learn how traits are inherited, how genes are regulated and how genomic data is used in medicine today."),
    ("MarlowU", "BIO330", "Immunology: The Body's Defences", ["biology"], "Advanced",
     "How the immune system recognises and fights infection, and what happens when it goes wrong. Case studies include vaccination, allergy and autoimmune disease."),
    ("MarlowU", "LAW100", "An Introduction to English Law", ["history"], "Introductory",
     "The sources of English law, the courts and the reasoning of judges. No legal background is needed; each week works through a real landmark case."),
    ("MarlowU", "LANG105", "Academic Writing in English", ["language"], "Introductory",
     "Plan, draft and revise essays that make a clear argument. Peer review and model answers help you improve with every assignment."),
    ("RhineValleyX", "ENG101", "Engineering Mechanics: Statics", ["engineering", "physics"], "Introductory",
     "Forces, moments and equilibrium in trusses, beams and frames. The course prepares you for strength of materials and structural design."),
    ("RhineValleyX", "ENG220", "Renewable Energy Systems", ["engineering", "environmental-science"], "Intermediate",
     "Solar, wind, hydro and storage: how each works, what it costs and how they combine in a grid. You will size a small photovoltaic installation as a final project."),
    ("RhineValleyX", "ENG240", "Electric Drives and Power Electronics", ["engineering"], "Advanced",
     "Converters, inverters and motor control for electric vehicles and industrial drives. Simulation labs let you design and test a drive controller."),
    ("RhineValleyX", "MFG150", "Lean Manufacturing", ["business-management", "engineering"], "Introductory",
     "Reduce waste, improve flow and involve every worker in improvement. Factory case studies show lean tools in practice."),
    ("RhineValleyX", "ENG310", "Materials Science for Engineers", ["engineering", "physics"], "Intermediate",
     "Why steel bends, glass breaks and polymers stretch. Learn how structure at the atomic scale determines the properties engineers rely on."),
    ("RhineValleyX", "LANG101", "German for Engineers", ["language"], "Introductory",
     "Everyday and technical German for working in an engineering team. Dialogues are set in workshops, meetings and on construction sites."),
    ("RhineValleyX", "ENV210", "Water Resources Management", ["environmental-science", "engineering"], "Intermediate",
     "Rivers, aquifers and reservoirs: how to measure, share and protect them. The course uses the Rhine basin as a running example."),
    ("SaffronIIS", "CS105", "Problem Solving with Python", ["computer-science"], "Introductory",
     "Solve real problems with short Python programs: analysing text, simulating games and automating tasks. Every lesson ends with an auto-graded exercise."),
    ("SaffronIIS", "CS230", "Database Systems", ["computer-science", "data-science"], "Intermediate",
     "Design relational schemas, write SQL and learn how a database engine stores, indexes and retrieves data. Transactions and concurrency are covered in the final weeks."),
    ("SaffronIIS", "DS101", "Data Analysis with Spreadsheets and SQL", ["data-science"], "Introductory",
     "Clean, summarise and visualise data with the tools used in most offices. You will answer business questions from a retail data set."),
    ("SaffronIIS", "DS310", "Deep Learning", ["data-science", "computer-science"], "Advanced",
     "Convolutional and recurrent networks, transformers and the practice of training them well. Assignments use GPUs in the cloud at no cost to you."),
    ("SaffronIIS", "MATH210", "Probability and Random Processes", ["mathematics", "data-science"], "Intermediate",
     "Random variables, distributions, limit theorems and Markov chains, with applications to queues and communication. Problem sets mix proofs and simulations."),
    ("SaffronIIS", "MATH150", "Discrete Mathematics", ["mathematics", "computer-science"], "Introductory",
     "Logic, sets, counting, graphs and proof techniques for computer science. The course emphasises writing clear, correct arguments."),
    ("SaffronIIS", "CS340", "Cloud Computing", ["computer-science"], "Intermediate",
     "Virtual machines, containers and serverless functions: how they are built and how to use them. You will deploy and scale a small web service."),
    ("SaffronIIS", "BUS120", "Entrepreneurship for Technologists", ["business-management"], "Introductory",
     "Turn an idea into a business: find customers, test a product and plan finances. Founders of small technology firms share what they learned."),
    ("BrightwaterX", "HIST101", "Rivers and Empires: A World History of Water", ["history", "environmental-science"], "Introductory",
     "How rivers shaped the first cities and the empires that followed, from the Nile to the Yangtze. Each week pairs a region with a question about power and environment."),
    ("BrightwaterX", "LANG120", "Beginning Spanish I", ["language"], "Introductory",
     "Start speaking Spanish from the first lesson. Dialogues, pronunciation practice and short cultural readings build your confidence step by step."),
    ("BrightwaterX", "LANG121", "Beginning Spanish II", ["language"], "Introductory",
     "Continue from Beginning Spanish I with the past tenses, longer conversations and short stories. Recorded speaking exercises receive feedback from tutors."),
    ("BrightwaterX", "ENV201", "Ecology of Forests and Wetlands", ["environmental-science", "biology"], "Intermediate",
     "How energy and nutrients flow through forests and wetlands, and how disturbance changes them. Field guides help you study an ecosystem near your home."),
    ("BrightwaterX", "PHIL110", "Ethics in the Age of Algorithms", ["computer-science", "history"], "Introductory",
     "Should software decide who gets a loan or a job? Read classic moral philosophy and apply it to real cases of automated decisions."),
    ("BrightwaterX", "WRIT150", "Writing About Science", ["language", "biology"], "Intermediate",
     "Explain research clearly to readers who are not scientists. You will write news stories, explainers and a long feature, each reviewed by your peers."),
    ("BrightwaterX", "HIST240", "The American Environmental Movement", ["history", "environmental-science"], "Intermediate",
     "From the national parks to climate activism, follow the people and ideas that changed how Americans see nature. Sources include speeches, photographs and court rulings."),
    ("LumenParisX", "PHY201", "Quantum Physics for Everyone", ["physics"], "Intermediate",
     "Superposition, entanglement and measurement explained with a minimum of mathematics. Interactive experiments with polarised light make the ideas concrete."),
    ("LumenParisX", "PHY310", "Astrophysics: Stars and Galaxies", ["physics"], "Advanced",
     "How stars form, shine and die, and how galaxies grow. You will analyse real telescope data to measure the distance to a galaxy."),
    ("LumenParisX", "CHEM101", "General Chemistry", ["physics", "biology"], "Introductory",
     "Atoms, bonds, reactions and energy, with kitchen experiments you can do safely at home. The course prepares you for further study in the life sciences."),
    ("LumenParisX", "BIO250", "Neuroscience: The Brain in Action", ["biology"], "Intermediate",
     "How neurons signal, how circuits compute and how the brain learns. Recordings from real experiments show the nervous system at work."),
    ("LumenParisX", "LANG130", "French for Scientists", ["language"], "Introductory",
     "Read papers, follow seminars and talk with colleagues in French. Vocabulary is drawn from physics, chemistry and biology laboratories."),
    ("LumenParisX", "BIO320", "Microbiology and Infectious Disease", ["biology"], "Advanced",
     "Bacteria, viruses and fungi: how they live, how they make us ill and how we fight them. Case studies follow outbreaks from detection to control."),
    ("LumenParisX", "PHY120", "Optics and Light", ["physics", "engineering"], "Intermediate",
     "Reflection, refraction, interference and lasers, from eyeglasses to fibre optics. Simple experiments with a phone camera accompany each unit."),
    ("NordfjordX", "FIN101", "Introduction to Corporate Finance", ["economics-finance", "business-management"], "Introductory",
     "Time value of money, valuation, risk and capital budgeting. You will value a real company from its published accounts."),
    ("NordfjordX", "FIN220", "Financial Markets and Investments", ["economics-finance"], "Intermediate",
     "How stocks, bonds and derivatives are priced and traded, and how to build a diversified portfolio. Market data is used in every assignment."),
    ("NordfjordX", "ACC110", "Financial Accounting", ["economics-finance", "business-management"], "Introductory",
     "Read and prepare balance sheets, income statements and cash flow statements. Short cases show how accounting choices affect what investors see."),
    ("NordfjordX", "SUS200", "Sustainable Business Strategy", ["business-management", "environmental-science"], "Intermediate",
     "How companies create value while reducing their environmental footprint. Cases from shipping, energy and retail show strategies that worked and some that did not."),
    ("NordfjordX", "ECON310", "Energy Economics", ["economics-finance", "environmental-science"], "Advanced",
     "Oil, gas and electricity markets, carbon pricing and the economics of the energy transition. Models are built in a spreadsheet and tested against historical data."),
    ("NordfjordX", "MGT150", "Leading Teams", ["business-management"], "Introductory",
     "Build trust, run effective meetings and handle conflict in teams of every size. Video scenarios let you practise decisions and see their consequences."),
    ("NordfjordX", "MKT210", "Digital Marketing Analytics", ["business-management", "data-science"], "Intermediate",
     "Measure what marketing achieves: web analytics, experiments and attribution. You will design and analyse an A/B test."),
]

ORG_BY_KEY = {o[0]: o for o in ORGS}
TERMS = {1: "1T", 4: "2T", 7: "3T", 10: "4T"}
STAFF_NAMES = []  # runs carry no staff: people are out of this sample's scope


def seat_price(lo, hi, currency):
    base = rng.randrange(lo, hi + 1)
    if currency == "INR":
        base *= 80
    elif currency in ("EUR", "GBP"):
        base = int(base * 0.9)
    return "%d.00" % base


def make_seats(run_key, org, start, end, kind):
    currency = ORG_BY_KEY[org][2]
    seats = [{"type": "audit", "price": "0.00", "currency": currency}]
    upgrade = iso(end - timedelta(days=10)) if end else None
    if kind in ("verified", "credit"):
        seats.append({"type": "verified", "price": seat_price(49, 199, currency),
                      "currency": currency, "upgrade_deadline": upgrade,
                      "sku": "V-" + uid(run_key, "verified")[:8].upper()})
    if kind == "credit":
        seats.append({"type": "credit", "price": seat_price(300, 900, currency),
                      "currency": currency, "credit_provider": org.lower(),
                      "credit_hours": rng.choice([1, 2, 3, 4]),
                      "sku": "C-" + uid(run_key, "credit")[:8].upper()})
    if kind == "professional":
        seats = [{"type": "professional", "price": seat_price(150, 600, currency),
                  "currency": currency, "sku": "P-" + uid(run_key, "professional")[:8].upper()}]
    if kind == "honor":
        seats = [{"type": "honor", "price": "0.00", "currency": currency}]
    return seats


def main():
    out = []

    def emit(kind, doc):
        line = {"kind": kind}
        line.update(doc)
        out.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))

    for key, name, _currency, host, description in ORGS:
        slug = key.lower()
        emit("organization", {
            "key": key, "uuid": uid("org", key), "name": name, "description": description,
            "homepage_url": "https://www.%s/" % host,
            "logo_image_url": "https://static.%s/brand/logo.png" % host,
            "certificate_logo_image_url": "https://static.%s/brand/certificate-logo.png" % host,
            "banner_image_url": "https://static.%s/brand/banner.jpg" % host,
            "tags": ["charter"] if key in ("AldenX", "KestrelTech", "MarlowU") else [],
            "marketing_url": "https://catalog.example.org/school/%s" % slug,
            "slug": slug,
        })
    for slug, name, subtitle, description in SUBJECTS:
        emit("subject", {
            "slug": slug, "uuid": uid("subject", slug), "name": name, "subtitle": subtitle,
            "description": description,
            "banner_image_url": "https://catalog.example.org/media/subjects/%s-banner.jpg" % slug,
            "card_image_url": "https://catalog.example.org/media/subjects/%s-card.jpg" % slug,
        })
    program_types = [
        ("micromasters", "MicroMasters", ["verified"], True),
        ("professional-certificate", "Professional Certificate", ["professional"], False),
        ("xseries", "XSeries", ["verified", "credit"], False),
    ]
    for slug, name, seat_types, coaching in program_types:
        emit("program_type", {
            "slug": slug, "uuid": uid("program_type", slug), "name": name,
            "applicable_seat_types": seat_types, "coaching_supported": coaching,
        })

    # Runs are spread over 2024-2028 so that, for any day from 2025 to 2027,
    # the catalog has archived, current, starting-soon and upcoming runs.
    runs = []
    for index, (org, number, title, subjects, level, description) in enumerate(COURSES):
        course_key = "%s+%s" % (org, number)
        short = description.split(". ")[0].rstrip(".") + "."
        image = {"src": "https://catalog.example.org/media/courses/%s.jpg" % course_key.replace("+", "-").lower(),
                 "description": title, "height": 480, "width": 854}
        emit("course", {
            "key": course_key, "uuid": uid("course", course_key), "title": title,
            "short_description": short, "full_description": description,
            "owners": [org], "subjects": subjects, "level_type": level, "image": image,
            "marketing_url": "https://catalog.example.org/course/%s" % course_key.replace("+", "-").lower(),
            "outcome": "By the end of %s you will be ready for the next course in %s." % (
                title, dict((s[0], s[1]) for s in SUBJECTS)[subjects[0]]),
        })
        n_runs = 1 + index % 4  # 1 to 4 runs a course
        month_index = rng.randrange(0, 45)
        for r in range(n_runs):
            # quarters from 2024 Q1 onward, each run two to five quarters on
            month_index += 3 * rng.randrange(2, 5) if r else 0
            year = 2024 + month_index // 12
            term = [1, 4, 7, 10][(month_index // 3) % 4]
            month = term + rng.randrange(0, 3)  # any month of the term
            if year > 2028:
                break
            day = 1 + rng.randrange(0, 27)
            start = datetime(year, month, day, 13, 0, 0, tzinfo=timezone.utc)
            self_paced = (index + r) % 3 == 0
            weeks = rng.choice([6, 8, 10, 12, 14])
            if self_paced:
                end = start + timedelta(days=rng.choice([180, 270, 365]))
            else:
                end = start + timedelta(weeks=weeks)
            run_key = "course-v1:%s+%s+%s%d" % (org, number, TERMS[term], year)
            seat_kind = ["verified", "verified", "credit", "professional", "honor", "verified"][(index * 3 + r) % 6]
            if seat_kind == "credit" and org not in ("AldenX", "MarlowU", "SaffronIIS", "KestrelTech"):
                seat_kind = "verified"
            status = "unpublished" if (index * 7 + r) % 17 == 0 else "published"
            hidden = (index * 5 + r) % 19 == 0
            effort = rng.choice([(2, 4), (3, 5), (4, 6), (6, 8), (8, 10)])
            run = {
                "key": run_key, "uuid": uid("run", run_key), "course": course_key,
                "title": title, "short_description": short,
                "start": iso(start), "end": iso(end),
                "enrollment_start": iso(start - timedelta(days=rng.choice([30, 60, 90]))),
                "enrollment_end": None if self_paced else iso(end - timedelta(days=14)),
                "pacing_type": "self_paced" if self_paced else "instructor_paced",
                "status": status, "hidden": hidden,
                "marketing_url": "https://catalog.example.org/course/%s" % run_key.lower().replace("+", "-").replace(":", "-"),
                "seats": make_seats(run_key, org, start, end, seat_kind),
                "content_language": {"RhineValleyX": "de", "LumenParisX": "fr"}.get(org, "en")
                if number.startswith("LANG") else "en",
                "transcript_languages": ["en", "es"] if r % 2 else ["en"],
                "min_effort": effort[0], "max_effort": effort[1],
                "weeks_to_complete": weeks, "level_type": level,
                "eligible_for_financial_aid": seat_kind != "honor",
            }
            runs.append(run)
    for run in runs:
        emit("course_run", run)

    programs = [
        ("micromasters", "Data Science", "A graduate-level foundation in statistics and machine learning",
         ["AldenX", "KestrelTech"], ["AldenX+DS200", "KestrelTech+18.06x", "KestrelTech+6.10x", "SaffronIIS+MATH210"], "active"),
        ("micromasters", "Sustainable Energy", "Engineering and economics of the energy transition",
         ["RhineValleyX", "NordfjordX"], ["RhineValleyX+ENG220", "RhineValleyX+ENG240", "NordfjordX+ECON310"], "active"),
        ("professional-certificate", "Cloud and Database Engineering", "Build and run data-backed services",
         ["SaffronIIS"], ["SaffronIIS+CS105", "SaffronIIS+CS230", "SaffronIIS+CS340"], "active"),
        ("professional-certificate", "Finance for Managers", "Read the numbers and make better decisions",
         ["NordfjordX"], ["NordfjordX+ACC110", "NordfjordX+FIN101", "NordfjordX+FIN220"], "retired"),
        ("xseries", "Foundations of Computer Science", "From first programs to computer systems",
         ["AldenX", "KestrelTech"], ["AldenX+CS101", "AldenX+CS210", "KestrelTech+6.04x"], "active"),
        ("xseries", "Life Sciences in Depth", "Genes, cells, brains and microbes",
         ["MarlowU", "LumenParisX"], ["MarlowU+BIO210", "LumenParisX+BIO250", "LumenParisX+BIO320", "MarlowU+BIO330"], "unpublished"),
    ]
    program_uuids = {}
    for ptype, title, subtitle, orgs, courses, status in programs:
        slug = title.lower().replace(" ", "-")
        program_uuids[title] = uid("program", slug)
        emit("program", {
            "uuid": program_uuids[title], "title": title, "subtitle": subtitle, "type": ptype,
            "status": status, "marketing_slug": slug,
            "marketing_url": "https://catalog.example.org/%s/%s" % (ptype, slug),
            "hidden": False, "courses": courses, "authoring_organizations": orgs,
            "card_image_url": "https://catalog.example.org/media/programs/%s-card.jpg" % slug,
            "overview": "%s is a series of %d courses: %s." % (title, len(courses), subtitle),
            "weeks_to_complete": 10 * len(courses),
            "min_hours_effort_per_week": 4, "max_hours_effort_per_week": 8,
        })
    emit("pathway", {
        "uuid": uid("pathway", "alden-ms-data-science"), "name": "Alden University MS in Data Science",
        "org_name": "Alden University", "email": "admissions@alden.example.edu",
        "description": "Learners who earn the Data Science MicroMasters credential can apply it toward the master's degree.",
        "destination_url": "https://www.alden.example.edu/graduate/data-science",
        "pathway_type": "credit", "status": "published",
        "programs": [program_uuids["Data Science"]],
    })
    emit("pathway", {
        "uuid": uid("pathway", "rvp-energy-engineer"), "name": "Energy Engineer Career Pathway",
        "org_name": "Rhine Valley Polytechnic", "email": "careers@rvp.example.de",
        "description": "Combine the Sustainable Energy MicroMasters with a placement at a partner utility.",
        "destination_url": "https://www.rvp.example.de/careers/energy",
        "pathway_type": "industry", "status": "published",
        "programs": [program_uuids["Sustainable Energy"], program_uuids["Foundations of Computer Science"]],
    })
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
