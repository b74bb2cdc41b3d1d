import symbl
connection = symbl.Telephony.start_sip(uri="sip:8002@sip.example.com") # A valid SIP URI to dial in

